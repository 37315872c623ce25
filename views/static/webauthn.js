// Passkeys on the gateway's own pages. A form marked data-webauthn="register" or "authenticate"
// carries the server's options (data-webauthn-options, JSON); on submit this script asks the
// browser for a passkey, puts the answer (JSON, base64url as @simplewebauthn/server reads it)
// into the form's "credential" field and posts the form. No inline script: the pages' CSP
// allows only the gateway's own files.
'use strict';
(function () {
  function toBuffer(text) {
    var base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    var padded = base64 + '===='.slice(0, (4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), function (c) { return c.charCodeAt(0); }).buffer;
  }
  function fromBuffer(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = '';
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: toBuffer(c.id) }); });
  }
  function common(credential) {
    return {
      id: credential.id,
      rawId: fromBuffer(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }
  async function register(options) {
    var publicKey = Object.assign({}, options, {
      challenge: toBuffer(options.challenge),
      user: Object.assign({}, options.user, { id: toBuffer(options.user.id) }),
      excludeCredentials: withIds(options.excludeCredentials),
    });
    var credential = await navigator.credentials.create({ publicKey: publicKey });
    var response = credential.response;
    return Object.assign(common(credential), {
      response: {
        clientDataJSON: fromBuffer(response.clientDataJSON),
        attestationObject: fromBuffer(response.attestationObject),
        transports: response.getTransports ? response.getTransports() : [],
      },
    });
  }
  async function authenticate(options) {
    var publicKey = Object.assign({}, options, { challenge: toBuffer(options.challenge), allowCredentials: withIds(options.allowCredentials) });
    var credential = await navigator.credentials.get({ publicKey: publicKey });
    var response = credential.response;
    return Object.assign(common(credential), {
      response: {
        clientDataJSON: fromBuffer(response.clientDataJSON),
        authenticatorData: fromBuffer(response.authenticatorData),
        signature: fromBuffer(response.signature),
        userHandle: response.userHandle ? fromBuffer(response.userHandle) : undefined,
      },
    });
  }
  document.querySelectorAll('form[data-webauthn]').forEach(function (form) {
    if (!window.PublicKeyCredential) return;
    form.hidden = false;
    form.addEventListener('submit', async function (event) {
      event.preventDefault();
      var status = form.querySelector('[data-webauthn-status]');
      try {
        var options = JSON.parse(form.dataset.webauthnOptions);
        var answer = form.dataset.webauthn === 'register' ? await register(options) : await authenticate(options);
        form.elements.credential.value = JSON.stringify(answer);
        var remember = document.getElementById('remember_device');
        if (form.elements.remember_device && remember) form.elements.remember_device.value = remember.checked ? '1' : '';
        form.submit();
      } catch (err) {
        if (status) status.textContent = form.dataset.webauthnFailed;
      }
    });
  });
})();
