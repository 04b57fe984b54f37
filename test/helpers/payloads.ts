/** The fields a mutation's union member may carry: its success type's `id`/`deleted`, or an Error's. */
export interface UnionMember {
  __typename: string;
  id?: string;
  deleted?: boolean;
  type?: string;
  code?: string;
  message?: string;
  param?: string | null;
  requestId?: string;
  docUrl?: string;
  suggestion?: string;
  retryable?: boolean;
  errors?: { param: string; code: string; message: string }[];
}
