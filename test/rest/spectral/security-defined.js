/**
 * Spectral's oas3-operation-security-defined, as OpenAPI 3.1 reads a Security Requirement Object:
 * every scheme it names is defined in components.securitySchemes, and an OAuth 2 or OpenID Connect
 * requirement lists only scopes its scheme's flows define; for other schemes the list holds role names
 * (here, the token scopes an operation needs), which no scheme declares.
 */
export default function securityDefined(requirement, _options, { document, path }) {
  const schemes = document.data?.components?.securitySchemes ?? {};
  const results = [];
  for (const [name, scopes] of Object.entries(requirement ?? {})) {
    const scheme = schemes[name];
    if (scheme === undefined) {
      results.push({ message: `"${name}" must be a scheme defined in components.securitySchemes.`, path: [...path, name] });
      continue;
    }
    if (scheme.type !== 'oauth2') continue;
    const defined = Object.values(scheme.flows ?? {}).flatMap((flow) => Object.keys(flow?.scopes ?? {}));
    scopes.forEach((scope, index) => {
      if (!defined.includes(scope)) results.push({ message: `"${scope}" must be listed among the scopes of ${name}.`, path: [...path, name, index] });
    });
  }
  return results;
}
