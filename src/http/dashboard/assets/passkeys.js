// Passkeys on the security page (adding one) and on the sign-in's second step (using one).
// The WebAuthn calls go through @simplewebauthn/browser (served from /assets/webauthn.js);
// the server makes every challenge and checks every answer.

const { startAuthentication, startRegistration } = globalThis.SimpleWebAuthnBrowser

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]')
  return meta ? meta.getAttribute('content') : ''
}

async function postForm(url, fields) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
      'x-csrf-token': csrfToken(),
    },
    body: new URLSearchParams(fields),
    credentials: 'same-origin',
    cache: 'no-store',
  })
  let body
  try {
    body = await response.json()
  } catch {
    body = { detail: `The server answered ${response.status}.` }
  }
  if (!response.ok) throw new Error(body.detail)
  return body
}

function say(id, text) {
  const out = document.getElementById(id)
  if (out) out.textContent = text
}

const add = document.getElementById('add-passkey')
if (add) {
  add.addEventListener('click', async () => {
    say('passkey-error', '')
    try {
      const optionsJSON = await postForm('/security/passkeys/options', {})
      const response = await startRegistration({ optionsJSON })
      const name = document.getElementById('passkey-name')?.value || 'Passkey'
      const added = await postForm('/security/passkeys', {
        name,
        response: JSON.stringify(response),
      })
      if (added.recoveryCodes) {
        const list = document.getElementById('new-recovery-codes')
        for (const code of added.recoveryCodes) {
          const item = document.createElement('li')
          item.textContent = code
          list.append(item)
        }
        document.getElementById('recovery-codes-shown').hidden = false
      } else {
        window.location.reload()
      }
    } catch (error) {
      say('passkey-error', error.message)
    }
  })
}

const stepUpPasskey = document.getElementById('step-up-passkey')
if (stepUpPasskey) {
  stepUpPasskey.addEventListener('click', async () => {
    const form = stepUpPasskey.closest('form')
    say('step-up-error', '')
    if (!form.elements.password.value) {
      say('step-up-error', 'Enter your password first.')
      return
    }
    try {
      const { challenge, options } = await postForm('/step-up/passkey', {
        password: form.elements.password.value,
      })
      const response = await startAuthentication({ optionsJSON: options })
      form.elements.challenge.value = challenge
      form.elements.passkey.value = JSON.stringify(response)
      // The step-up dialog's own handler (dashboard.js) sends it and carries on.
      form.requestSubmit()
    } catch (error) {
      say('step-up-error', error.message)
    }
  })
}

const use = document.getElementById('use-passkey')
if (use) {
  use.addEventListener('click', async () => {
    const form = use.closest('form')
    say('passkey-error', '')
    try {
      const optionsJSON = await postForm('/login/mfa/passkey', {
        challenge: form.elements.challenge.value,
      })
      const response = await startAuthentication({ optionsJSON })
      form.elements.passkey.value = JSON.stringify(response)
      form.elements.code.required = false
      form.submit()
    } catch (error) {
      say('passkey-error', error.message)
    }
  })
}
