// A one-time link (an invitation, an address confirmation) carries its secret in the URL's
// fragment, which browsers never send to a server or in a Referer. This moves it into the
// page's form and out of the address bar and the history entry; nothing stores it.
const code = decodeURIComponent(window.location.hash.slice(1))
const field = document.getElementById('one-time-code')
if (field && code) {
  field.value = code
  history.replaceState(null, '', window.location.pathname)
}
