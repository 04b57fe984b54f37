import { builder } from './builder.ts';

/** What every delete mutation answers: `{ id, deleted: true }`, as the REST DELETE routes do. */
export class DeleteSuccess {
  readonly id: number;
  readonly deleted = true;
  constructor(id: number) {
    this.id = id;
  }
}

export function deleteSuccessType(Success: new (id: number) => DeleteSuccess, name: string) {
  return builder.objectType(Success, {
    name,
    isTypeOf: (value) => value instanceof Success,
    fields: (t) => ({ id: t.id({ resolve: (result) => result.id }), deleted: t.boolean({ resolve: (result) => result.deleted }) }),
  });
}
