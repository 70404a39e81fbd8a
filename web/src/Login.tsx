import { useState } from 'preact/hooks';
import { api, data, problem, session } from './api.ts';

/** Register or log in; on success the session token is stored and `onLoggedIn` runs. */
export function Login({ onLoggedIn }: { onLoggedIn: (userName: string) => void }) {
  const [userName, setUserName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(register: boolean) {
    setBusy(true);
    setError('');
    try {
      const body = { user_name: userName, password };
      if (register) data(await api.POST('/v1/auth/register', { body }));
      session.set(data(await api.POST('/v1/auth/login', { body })).session_id);
      onLoggedIn(userName);
    } catch (err) {
      setError(problem(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      class="login"
      onSubmit={(e) => {
        e.preventDefault();
        void submit(false);
      }}
    >
      <h1>Messenger</h1>
      <label>
        User name
        <input
          data-testid="auth-user-name"
          autocomplete="username"
          value={userName}
          onInput={(e) => setUserName(e.currentTarget.value)}
        />
      </label>
      <label>
        Password
        <input
          data-testid="auth-password"
          type="password"
          autocomplete="current-password"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="row">
        <button data-testid="auth-login" type="submit" disabled={busy}>
          Log in
        </button>
        <button data-testid="auth-register" type="button" disabled={busy} onClick={() => void submit(true)}>
          Register
        </button>
      </div>
    </form>
  );
}
