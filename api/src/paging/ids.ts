const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are opaque to clients; one that is not even well-formed names nothing (a 404, not a 400). */
export function isWellFormedId(id: string | undefined): id is string {
  return id !== undefined && UUID.test(id);
}
