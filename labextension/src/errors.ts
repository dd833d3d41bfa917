import type { IFieldError } from './models';

/**
 * An error answered by the CodeCrafter API (`{"error": {code, message,
 * details}}`), or a request that never got an answer (status 0).
 */
export class CodeCrafterError extends Error {
  constructor(options: CodeCrafterError.IOptions) {
    super(options.message);
    this.name = 'CodeCrafterError';
    this.status = options.status;
    this.code = options.code;
    this.details = options.details ?? null;
    this.retryAfterS = options.retryAfterS ?? null;
  }

  /** The HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  /** The server's stable machine code, such as `token_expired`. */
  readonly code: string;
  readonly details: unknown;
  /** On a 429: how long the server asks to wait. */
  readonly retryAfterS: number | null;

  /** The per-field messages of a validation error (422), if any. */
  get fieldErrors(): IFieldError[] {
    if (!Array.isArray(this.details)) {
      return [];
    }
    return this.details.filter(isFieldError);
  }

  /** The message followed by the field messages, for people to read. */
  describe(): string {
    const fields = this.fieldErrors.map(e =>
      e.field ? `${e.field}: ${e.message}` : e.message
    );
    return [this.message, ...fields].join(' ');
  }

  static async fromResponse(response: Response): Promise<CodeCrafterError> {
    const body = await readJson(response);
    const retryAfter = Number(response.headers.get('Retry-After'));
    const base = {
      status: response.status,
      retryAfterS:
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null
    };
    const error = isErrorBody(body) ? body.error : null;
    if (error === null) {
      // Not one of ours: a proxy's page, or Jupyter's own handler.
      const text = `${response.status} ${response.statusText}`.trim();
      return new CodeCrafterError({
        ...base,
        code: 'http_error',
        message: `The server answered ${text}.`
      });
    }
    return new CodeCrafterError({
      ...base,
      code: error.code,
      message: error.message,
      details: error.details
    });
  }

  static fromNetworkError(cause: unknown): CodeCrafterError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new CodeCrafterError({
      status: 0,
      code: 'network_error',
      message: `Could not reach the server (${reason}).`
    });
  }
}

export namespace CodeCrafterError {
  export interface IOptions {
    status: number;
    code: string;
    message: string;
    details?: unknown;
    retryAfterS?: number | null;
  }
}

interface IErrorBody {
  error: { code: string; message: string; details?: unknown };
}

function isErrorBody(body: unknown): body is IErrorBody {
  if (typeof body !== 'object' || body === null || !('error' in body)) {
    return false;
  }
  const error: unknown = body.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    'message' in error &&
    typeof error.message === 'string'
  );
}

function isFieldError(item: unknown): item is IFieldError {
  return (
    typeof item === 'object' &&
    item !== null &&
    'message' in item &&
    typeof item.message === 'string'
  );
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return null;
  }
}
