import { describe, expect, it } from 'vitest';

import {
  isFinalClose,
  isKernelMessage,
  isRoleMessage,
  parseControl
} from '../src/control';
import { kindOfPath, sessionIdOf, sessionPath } from '../src/paths';

describe('session paths', () => {
  it('name a session by its title, so the tab shows it, under its id', () => {
    expect(sessionPath('s1', { title: 'Lesson 1', kind: 'notebook' })).toBe(
      'CodeCrafter:s1/Lesson 1.ipynb'
    );
    expect(
      sessionPath('s2', { title: 'notes', kind: 'file', language: 'python' })
    ).toBe('CodeCrafter:s2/notes.py');
    expect(
      sessionPath('s3', { title: 'a/b', kind: 'file', language: 'cobol' })
    ).toBe('CodeCrafter:s3/a\u2215b.txt');
  });

  it('give back the session id of a drive path only', () => {
    expect(sessionIdOf('CodeCrafter:s1/Lesson 1.ipynb')).toBe('s1');
    expect(sessionIdOf('CodeCrafter:s1/Renamed.ipynb')).toBe('s1');
    expect(sessionIdOf('s1/Lesson 1.ipynb')).toBeNull();
    expect(sessionIdOf('Other:s1/x.ipynb')).toBeNull();
    expect(sessionIdOf('CodeCrafter:s1')).toBeNull();
    expect(sessionIdOf('CodeCrafter:bad id/x.ipynb')).toBeNull();
  });

  it('tell notebooks from files by their extension', () => {
    expect(kindOfPath('CodeCrafter:s1/x.ipynb')).toBe('notebook');
    expect(kindOfPath('CodeCrafter:s1/x.ipynb.py')).toBe('file');
  });
});

describe('control messages', () => {
  it('are JSON objects with a type; anything else is dropped', () => {
    expect(parseControl('{"type":"read_only"}')).toEqual({ type: 'read_only' });
    expect(parseControl('[1]')).toBeNull();
    expect(parseControl('{"role":"read"}')).toBeNull();
    expect(parseControl('not json')).toBeNull();
  });

  it('are recognised by type, with values the server can send', () => {
    expect(isRoleMessage({ type: 'role', role: 'read' })).toBe(true);
    expect(isRoleMessage({ type: 'role', role: 'king' })).toBe(false);
    const kernel = { type: 'kernel', state: 'busy', worker: 'w1' };
    expect(isKernelMessage(kernel)).toBe(true);
    expect(isKernelMessage({ ...kernel, state: 'asleep' })).toBe(false);
  });

  it('end the room for good on 4400-4499 close codes only', () => {
    expect(isFinalClose(4403)).toBe(true);
    expect(isFinalClose(4404)).toBe(true);
    expect(isFinalClose(1012)).toBe(false);
    expect(isFinalClose(1001)).toBe(false);
    expect(isFinalClose(undefined)).toBe(false);
  });
});
