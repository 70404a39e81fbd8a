import { AppError } from '@messenger/shared';

/**
 * Control characters, format characters such as zero-width spaces (a name that looks like another),
 * and lone surrogates (not text at all).
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}]/u;

/**
 * A new account's name as it is stored: Unicode NFKC (so the full-width `ａlice` is `alice`) and
 * trimmed. Refuses a name that is empty once trimmed, holds control or invisible format characters,
 * or is over 255 characters. Case is kept for display; uniqueness and login ignore it (migration
 * 0007's `name_key`).
 */
export function normalizeUserName(raw: string): string {
  const name = raw.normalize('NFKC').trim();
  if (name === '') throw new AppError('bad-parameters', 'user_name must hold something besides spaces');
  if (INVISIBLE.test(name)) {
    throw new AppError('bad-parameters', 'user_name must not hold control or invisible characters');
  }
  if ([...name].length > 255)
    throw new AppError('bad-parameters', 'user_name must be at most 255 characters');
  return name;
}
