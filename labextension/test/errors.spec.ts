import { describe, expect, it } from 'vitest';

import { CodeCrafterError } from '../src/api';
import { FakeFetch, apiError, json, makeClient } from './fakes';

describe('CodeCrafterClient errors', () => {
  it('an API error body becomes a CodeCrafterError with status, code, message and details', async () => {
    const details = [
      { field: 'password', message: 'String should have at least 8 characters' }
    ];
    const fake = new FakeFetch().reply(
      apiError(422, 'validation_error', 'The request is not valid.', details)
    );

    const error = await makeClient(fake)
      .register({
        username: 'ada',
        email: 'ada@example.org',
        password: 'short'
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodeCrafterError);
    expect(error).toMatchObject({
      status: 422,
      code: 'validation_error',
      message: 'The request is not valid.'
    });
    expect((error as CodeCrafterError).fieldErrors).toEqual(details);
    expect((error as CodeCrafterError).describe()).toBe(
      'The request is not valid. password: String should have at least 8 characters'
    );
  });

  it('a 429 keeps the Retry-After delay', async () => {
    const fake = new FakeFetch().reply(
      json(
        429,
        { error: { code: 'rate_limited', message: 'Too many requests.' } },
        { 'Retry-After': '12' }
      )
    );
    const error = await makeClient(fake)
      .login({ login: 'a', password: 'b' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 429,
      code: 'rate_limited',
      retryAfterS: 12
    });
  });

  it('an error that is not ours (an HTML page) still becomes a CodeCrafterError, code http_error', async () => {
    const fake = new FakeFetch().reply(
      new Response('<html>Bad gateway</html>', {
        status: 502,
        statusText: 'Bad Gateway'
      })
    );
    const error = await makeClient(fake)
      .refresh()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 502,
      code: 'http_error',
      message: 'The server answered 502 Bad Gateway.'
    });
  });

  it('a request that never reaches the server becomes a CodeCrafterError with status 0', async () => {
    const fake = new FakeFetch().reply(new TypeError('Failed to fetch'));
    const error = await makeClient(fake)
      .refresh()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodeCrafterError);
    expect(error).toMatchObject({ status: 0, code: 'network_error' });
  });
});
