/**
 * The QR code of an otpauth:// URI as inline SVG, made here: the secret never goes to a
 * third-party image service. The SVG is qrcode's own output (paths only, no text from the
 * request), so it is safe to put into the page as markup. qrcode is loaded at the first QR code
 * drawn, not at start: only enrolment draws one, and every thread that loads it pays in memory.
 */
export async function qrSvg(uri: string): Promise<string> {
  const { default: QRCode } = await import('qrcode');
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
