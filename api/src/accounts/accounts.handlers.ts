import { AppError } from '@messenger/shared';
import type { Handler } from '../http/handler-types.ts';
import type { AccountExport } from '../schemas.ts';
import type { AccountDeletionService } from './account-deletion.service.ts';
import type { AccountExportService } from './account-export.service.ts';

export function accountsHandlers(
  deletion: AccountDeletionService,
  exports: AccountExportService,
): {
  deleteMe: Handler<'deleteMe'>;
  exportMe: Handler<'exportMe'>;
} {
  return {
    // AUTH_DISABLED mode has no passwords to re-authenticate with: see openapi.yaml.
    deleteMe: async ({ caller, body }) => {
      if (caller.kind !== 'session') {
        throw new AppError('forbidden', 'accounts cannot be deleted with AUTH_DISABLED=true');
      }
      await deletion.delete(caller, body.password);
      return { status: 204, body: undefined };
    },
    exportMe: async ({ actor }) => {
      const { userId, body } = await exports.export(actor);
      return {
        status: 200,
        // A stream of the AccountExport document (Koa pipes it), not the object itself.
        body: body as unknown as AccountExport,
        type: 'application/json; charset=utf-8',
        headers: { 'Content-Disposition': `attachment; filename="messenger-export-${userId}.json"` },
      };
    },
  };
}
