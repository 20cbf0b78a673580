/**
 * The dashboard's pages and assets. Everything else the server answers is the API, which takes
 * JSON and bearer tokens only; these paths take HTML forms and the session cookie.
 */
const DASHBOARD_PATH =
  /^\/(?:$|login(?:\/mfa(?:\/passkey)?)?$|security(?:\/|$)|signup$|logout$|step-up(?:\/passkey)?$|sso(?:\/start)?$|auth\/sso\/|device(?:\/approve|\/deny)?$|keys(?:\/|$)|tokens(?:\/|$)|members(?:\/|$)|invitations\/|confirm$|usage$|environments$|encryption(?:\/|$)|audit(?:\/|$)|assets\/)/

export const isDashboardPath = (path: string): boolean => DASHBOARD_PATH.test(path)
