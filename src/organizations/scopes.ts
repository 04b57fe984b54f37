export const scopes = ['sources:read', 'sources:write', 'people:read', 'people:write', 'records:read', 'records:write', 'webhooks:read', 'webhooks:write'] as const;

export type Scope = (typeof scopes)[number];

export function isScope(value: string): value is Scope {
  return (scopes as readonly string[]).includes(value);
}
