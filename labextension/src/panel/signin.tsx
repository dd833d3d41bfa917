import { Button, InputGroup } from '@jupyterlab/ui-components';
import React, { useId, useState } from 'react';

import type { AuthManager } from '../auth';
import { describeError, type IPanelMessage } from './actions';

type Mode = 'sign-in' | 'register';

/** The signed-out view: sign in, or create an account. */
export function SignInView(props: {
  auth: AuthManager;
  reason: string | null;
  /** Why to sign in now, such as an invite waiting to be joined. */
  notice?: IPanelMessage | null;
}): React.JSX.Element {
  const [mode, setMode] = useState<Mode>('sign-in');
  const other: Mode = mode === 'sign-in' ? 'register' : 'sign-in';
  return (
    <div className="jp-CodeCrafter-signin">
      <h2 className="jp-CodeCrafter-heading">CodeCrafter</h2>
      {props.reason !== null && (
        <p
          className="jp-CodeCrafter-message jp-mod-warning"
          role="alert"
          data-testid="codecrafter-signed-out-reason"
        >
          {props.reason}
        </p>
      )}
      {props.notice && (
        <p
          className={`jp-CodeCrafter-message jp-mod-${props.notice.kind}`}
          role="status"
          data-testid="codecrafter-notice"
        >
          {props.notice.text}
        </p>
      )}
      {mode === 'sign-in' ? (
        <SignInForm auth={props.auth} />
      ) : (
        <RegisterForm auth={props.auth} />
      )}
      <p className="jp-CodeCrafter-switch">
        {mode === 'sign-in' ? 'No account yet?' : 'Already have an account?'}{' '}
        <button
          type="button"
          className="jp-CodeCrafter-link"
          data-testid={`codecrafter-show-${other}`}
          onClick={() => {
            setMode(other);
          }}
        >
          {mode === 'sign-in' ? 'Create one' : 'Sign in'}
        </button>
      </p>
    </div>
  );
}

function SignInForm({ auth }: { auth: AuthManager }): React.JSX.Element {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const submit = useSubmit(() =>
    auth.signIn({ login: login.trim(), password })
  );
  return (
    <AuthForm
      label="Sign in to CodeCrafter"
      action="Sign in"
      testId="codecrafter-signin-form"
      submit={submit}
    >
      <Field
        label="Username or email"
        name="login"
        value={login}
        onChange={setLogin}
        autoComplete="username"
      />
      <Field
        label="Password"
        name="password"
        type="password"
        value={password}
        onChange={setPassword}
        autoComplete="current-password"
      />
    </AuthForm>
  );
}

function RegisterForm({ auth }: { auth: AuthManager }): React.JSX.Element {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const submit = useSubmit(() =>
    auth.register({ username: username.trim(), email: email.trim(), password })
  );
  return (
    <AuthForm
      label="Create a CodeCrafter account"
      action="Create account"
      testId="codecrafter-register-form"
      submit={submit}
    >
      <Field
        label="Username"
        name="username"
        value={username}
        onChange={setUsername}
        autoComplete="username"
      />
      <Field
        label="Email"
        name="email"
        type="email"
        value={email}
        onChange={setEmail}
        autoComplete="email"
      />
      <Field
        label="Password"
        name="password"
        type="password"
        value={password}
        onChange={setPassword}
        autoComplete="new-password"
        hint="At least 8 characters."
      />
    </AuthForm>
  );
}

interface ISubmit {
  busy: boolean;
  error: string | null;
  run: () => void;
}

/** Runs one submission at a time and keeps its error for the form to show. */
function useSubmit(action: () => Promise<unknown>): ISubmit {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = (): void => {
    if (busy) {
      return;
    }
    setBusy(true);
    setError(null);
    // On success the panel swaps this form for the session lists: no state to set.
    action().catch((reason: unknown) => {
      setError(describeError(reason));
      setBusy(false);
    });
  };
  return { busy, error, run };
}

function AuthForm(props: {
  label: string;
  action: string;
  testId: string;
  submit: ISubmit;
  children: React.ReactNode;
}): React.JSX.Element {
  const { busy, error, run } = props.submit;
  return (
    <form
      className="jp-CodeCrafter-form"
      aria-label={props.label}
      data-testid={props.testId}
      onSubmit={event => {
        event.preventDefault();
        run();
      }}
    >
      {props.children}
      {error !== null && (
        <p
          className="jp-CodeCrafter-message jp-mod-error"
          role="alert"
          data-testid="codecrafter-auth-error"
        >
          {error}
        </p>
      )}
      <Button
        type="submit"
        className="jp-CodeCrafter-primary"
        disabled={busy}
        aria-busy={busy}
      >
        {busy ? `${props.action}…` : props.action}
      </Button>
    </form>
  );
}

function Field(props: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  type?: string;
  autoComplete?: string;
  hint?: string;
}): React.JSX.Element {
  const id = useId();
  return (
    <div className="jp-CodeCrafter-field">
      <label htmlFor={id}>{props.label}</label>
      <InputGroup
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        required
        autoComplete={props.autoComplete}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onChange={event => {
          props.onChange(event.target.value);
        }}
      />
      {props.hint && (
        <span id={`${id}-hint`} className="jp-CodeCrafter-hint">
          {props.hint}
        </span>
      )}
    </div>
  );
}
