// Progressive enhancement for the dashboard's pages. Every form works without this script;
// with it, a reveal stays on the page (hidden again after 30 s), copy buttons copy, and an
// action that needs the password again asks for it in a dialog. Nothing here stores anything:
// no localStorage, sessionStorage, IndexedDB or cookies (the session cookie is HttpOnly).

const HIDE_AFTER_SECONDS = 30

const csrfMeta = document.querySelector('meta[name="csrf-token"]')

function setCsrf(token) {
  if (csrfMeta) csrfMeta.setAttribute('content', token)
  for (const input of document.querySelectorAll('input[name="csrf"]')) input.value = token
}

async function post(url, body) {
  return fetch(url, {
    method: 'POST',
    headers: {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
      'x-csrf-token': csrfMeta ? csrfMeta.getAttribute('content') : '',
    },
    body,
    credentials: 'same-origin',
    cache: 'no-store',
  })
}

async function problemOf(response) {
  try {
    return await response.json()
  } catch {
    return { detail: `The server answered ${response.status}.` }
  }
}

// Resolves true once the person has confirmed their password, false if they cancel.
function stepUp() {
  const dialog = document.getElementById('step-up')
  const form = document.getElementById('step-up-form')
  const error = document.getElementById('step-up-error')
  if (!dialog || !form) return Promise.resolve(false)
  error.textContent = ''
  return new Promise((resolve) => {
    const done = (ok) => {
      form.removeEventListener('submit', onSubmit)
      dialog.removeEventListener('close', onClose)
      if (dialog.open) dialog.close()
      form.reset()
      resolve(ok)
    }
    const onClose = () => done(false)
    const onSubmit = async (event) => {
      event.preventDefault()
      const body = new URLSearchParams({
        password: form.elements.password.value,
        code: form.elements.code.value,
        // Set by passkeys.js when the person confirmed with a passkey.
        challenge: form.elements.challenge.value,
        passkey: form.elements.passkey.value,
      })
      const response = await post('/step-up', body)
      if (!response.ok) {
        // A passkey's answer serves once: the next try starts afresh.
        form.elements.challenge.value = ''
        form.elements.passkey.value = ''
        error.textContent = (await problemOf(response)).detail
        return
      }
      setCsrf((await response.json()).csrf)
      done(true)
    }
    form.addEventListener('submit', onSubmit)
    dialog.addEventListener('close', onClose)
    dialog.showModal()
  })
}

for (const button of document.querySelectorAll('[data-close]')) {
  button.addEventListener('click', () => document.getElementById(button.dataset.close)?.close())
}

for (const form of document.querySelectorAll('form[data-reveal]')) {
  const box = document.getElementById(form.dataset.reveal)
  const output = document.getElementById(`${form.dataset.reveal}-value`)
  const timer = document.getElementById(`${form.dataset.reveal}-timer`)
  const error = document.getElementById(`${form.dataset.reveal}-error`)
  let countdown
  const hide = () => {
    clearInterval(countdown)
    output.textContent = ''
    timer.textContent = ''
    box.hidden = true
  }
  const reveal = async () => {
    error.textContent = ''
    const response = await post(form.action, new URLSearchParams())
    if (!response.ok) {
      const problem = await problemOf(response)
      if (problem.code === 'step_up_required' && (await stepUp())) return reveal()
      if (problem.code !== 'step_up_required') error.textContent = problem.detail
      return
    }
    const { value, version } = await response.json()
    hide()
    output.textContent = value
    box.hidden = false
    let left = HIDE_AFTER_SECONDS
    timer.textContent = `Version ${version}. Hidden again in ${left} s.`
    countdown = setInterval(() => {
      left -= 1
      if (left <= 0) hide()
      else timer.textContent = `Version ${version}. Hidden again in ${left} s.`
    }, 1000)
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    reveal()
  })
}

for (const button of document.querySelectorAll('[data-copy]')) {
  button.addEventListener('click', async () => {
    const text = document.getElementById(button.dataset.copy)?.textContent ?? ''
    try {
      await navigator.clipboard.writeText(text)
      button.textContent = 'Copied'
    } catch {
      button.textContent = 'Copy failed: select the text instead'
    }
  })
}

// A form the server wants sent at once (the last step of a single sign-on): a same-site
// request from this page, which is what lets the session cookie be set. Without this script
// its button does the same.
for (const form of document.querySelectorAll('form[data-autosubmit]')) form.requestSubmit()
