import type { Ref } from 'preact';

interface Props {
  /** The `data-testid` of the input and of the button. */
  inputTestId: string;
  buttonTestId: string;
  label: string;
  placeholder: string;
  button: string;
  value: string;
  onInput: (value: string) => void;
  onSubmit: () => void;
  onEscape?: () => void;
  inputRef?: Ref<HTMLInputElement>;
}

/** One text field and its button, submitted by Enter or the button: the client's small forms. */
export function FieldForm(p: Props) {
  return (
    <form
      class="row"
      onKeyDown={(e) => {
        if (e.key === 'Escape') p.onEscape?.();
      }}
      onSubmit={(e) => {
        e.preventDefault();
        p.onSubmit();
      }}
    >
      <input
        data-testid={p.inputTestId}
        ref={p.inputRef}
        aria-label={p.label}
        placeholder={p.placeholder}
        value={p.value}
        onInput={(e) => p.onInput(e.currentTarget.value)}
      />
      <button data-testid={p.buttonTestId} type="submit">
        {p.button}
      </button>
    </form>
  );
}
