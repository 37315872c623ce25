import QRCode from 'qrcode';

/**
 * The QR code of an otpauth:// URI as inline SVG, made here: the secret never goes to a
 * third-party image service. The SVG is qrcode's own output (paths only, no text from the
 * request), so it is safe to put into the page as markup.
 */
export function qrSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
