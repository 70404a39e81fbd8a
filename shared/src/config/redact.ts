/** Hides the password of a URL for logs and error messages. */
export function redactUrl(url: string): string {
  // The user info ends at the LAST @ before the path (as pg, ioredis and WHATWG URL read it).
  return url.replace(/(\/\/[^:/@]*:)[^/?#]*@/, '$1***@');
}
