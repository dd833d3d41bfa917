/**
 * Where sessions live on the CodeCrafter drive: `CodeCrafter:<id>/<name>`.
 *
 * The session id keeps paths unique and stable; the name is the session's
 * title, so a tab (whose label is the path's last part) shows the title.
 */
import { PathExt } from '@jupyterlab/coreutils';

import type { SessionKind } from './models';

export const DRIVE_NAME = 'CodeCrafter';

const PREFIX = `${DRIVE_NAME}:`;
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const NOTEBOOK_EXTENSION = '.ipynb';
// A file session's name ends with its language's extension, so the editor
// highlights it; languages not listed get plain text.
const EXTENSIONS: Readonly<Record<string, string>> = {
  python: '.py',
  javascript: '.js',
  typescript: '.ts',
  bash: '.sh',
  c: '.c',
  'c++': '.cpp',
  cpp: '.cpp',
  java: '.java',
  go: '.go',
  rust: '.rs',
  ruby: '.rb',
  r: '.r',
  julia: '.jl',
  markdown: '.md'
};

export interface ISessionName {
  title: string;
  kind: SessionKind;
  language?: string;
}

/** The file name a session shows as: its title, and an extension for its kind. */
export function sessionFileName(session: ISessionName): string {
  // A slash would start a folder; the division slash looks the same.
  const title = session.title.replace(/\//g, '\u2215').trim() || 'Untitled';
  const extension =
    session.kind === 'notebook'
      ? NOTEBOOK_EXTENSION
      : (EXTENSIONS[session.language ?? ''] ?? '.txt');
  return title.endsWith(extension) ? title : title + extension;
}

/** The drive's local path of a session (without the drive's prefix). */
export function sessionLocalPath(id: string, session: ISessionName): string {
  return `${id}/${sessionFileName(session)}`;
}

/** The full path of a session, as JupyterLab opens it. */
export function sessionPath(id: string, session: ISessionName): string {
  return PREFIX + sessionLocalPath(id, session);
}

/** The session id of a full path on the drive; null for any other path. */
export function sessionIdOf(path: string): string | null {
  return path.startsWith(PREFIX)
    ? sessionIdOfLocal(path.slice(PREFIX.length))
    : null;
}

/** The session id of a path local to the drive (`<id>/<name>`). */
export function sessionIdOfLocal(localPath: string): string | null {
  const parts = localPath.replace(/^\/+/, '').split('/');
  if (parts.length !== 2 || !parts[1] || !SESSION_ID.test(parts[0])) {
    return null;
  }
  return parts[0];
}

/** The kind of document a path on the drive holds, from its extension. */
export function kindOfPath(path: string): SessionKind {
  return PathExt.extname(path) === NOTEBOOK_EXTENSION ? 'notebook' : 'file';
}
