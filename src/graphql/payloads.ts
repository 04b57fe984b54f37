import { builder } from './builder.ts';

/** What every delete mutation answers: `{ id, deleted: true }`, as the REST DELETE routes do. */
export class DeleteSuccess {
  readonly id: number;
  readonly deleted = true;
  constructor(id: number) {
    this.id = id;
  }
}

/** `resource` names what was deleted in the descriptions, e.g. "feedback source". */
export function deleteSuccessType(Success: new (id: number) => DeleteSuccess, name: string, resource: string) {
  return builder.objectType(Success, {
    name,
    description: `The ${resource} was deleted.`,
    isTypeOf: (value) => value instanceof Success,
    fields: (t) => ({
      id: t.exposeID('id', { description: `The id the ${resource} had.` }),
      deleted: t.exposeBoolean('deleted', { description: `Always true: the ${resource} no longer exists.` }),
    }),
  });
}
