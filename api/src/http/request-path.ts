/**
 * A request path whose every segment decodes: a segment that `decodeURIComponent` refuses (a
 * percent-escape that is not UTF-8, such as `%C0` or `%FF`, or a stray `%`) is decoded leniently,
 * each bad byte becoming U+FFFD, and encoded again. The router decodes path parameters with
 * `decodeURIComponent`, which throws a URIError on such a segment; this way the segment is just an
 * id that names nothing, and the operation answers the 404 of any unknown id.
 */
export function decodablePath(path: string): string {
  if (decodes(path)) return path;
  return path
    .split('/')
    .map((segment) => (decodes(segment) ? segment : encodeURIComponent(decodeLeniently(segment))))
    .join('/');
}

function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

const ESCAPE = /%([0-9a-fA-F]{2})/y;

/** Percent-escapes as bytes, everything else as its UTF-8, read back as UTF-8 with U+FFFD for bad bytes. */
function decodeLeniently(segment: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < segment.length;) {
    ESCAPE.lastIndex = i;
    const escape = ESCAPE.exec(segment);
    if (escape) {
      bytes.push(Number.parseInt(escape[1]!, 16));
      i += 3;
    } else {
      const char = String.fromCodePoint(segment.codePointAt(i)!);
      bytes.push(...Buffer.from(char, 'utf8'));
      i += char.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
