import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readSpec } from '../../src/http/contract.ts';

type Spec = {
  paths: Record<
    string,
    {
      get: {
        responses: Record<
          string,
          { content: Record<string, { 'x-events': Record<string, { $ref: string }> }> }
        >;
      };
    }
  >;
};

let validators: Map<string, ValidateFunction> | undefined;

/** The data schema of each event type, as openapi.yaml lists them under GET /v1/events `x-events`. */
function eventValidators(): Map<string, ValidateFunction> {
  if (validators) return validators;
  const document = readSpec().document;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(document, 'spec');
  const events = (document as unknown as Spec).paths['/v1/events']!.get.responses['200']!.content[
    'text/event-stream'
  ]!['x-events'];
  validators = new Map(
    Object.entries(events).map(([type, { $ref }]) => [type, ajv.compile({ $ref: `spec${$ref}` })]),
  );
  return validators;
}

/** What is wrong with an event by the contract: an unknown type, or data that does not match its schema. */
export function eventProblems(type: string, data: unknown): string | undefined {
  const validate = eventValidators().get(type);
  if (!validate) return `event type ${type} is not in openapi.yaml`;
  if (validate(data)) return undefined;
  return `${type} ${JSON.stringify(data)}: ${validate.errors?.map((e) => `${e.instancePath} ${e.message}`).join('; ')}`;
}
