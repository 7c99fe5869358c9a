/**
 * An error the user can act on. `lib/` knows nothing of Node-RED or of languages, so it
 * names the problem with a stable `code` and the facts in `params`; the node layer turns
 * that into a translated message (`<node>.errors.<code>` in the node's locale catalog).
 * `message` is an English fallback for use outside Node-RED (benchmarks, scripts).
 */
export class MarketingError extends Error {
  readonly code: string;
  readonly params: Record<string, string | number>;

  constructor(code: string, message: string, params: Record<string, string | number> = {}) {
    super(message);
    this.name = 'MarketingError';
    this.code = code;
    this.params = params;
  }
}

export function isMarketingError(err: unknown): err is MarketingError {
  return err instanceof MarketingError;
}
