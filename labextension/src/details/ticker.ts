import type { IDisposable } from '@lumino/disposable';

/**
 * Runs a task now and then again `intervalMs` after each run ends, while it
 * is running; never two runs at once. A run asked for during another one
 * happens right after it.
 */
export class Ticker implements IDisposable {
  constructor(task: () => Promise<void>, intervalMs: number) {
    this._task = task;
    this._intervalMs = intervalMs;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get running(): boolean {
    return this._running;
  }

  /** Starting runs the task at once; stopping lets a run in flight end. */
  set running(value: boolean) {
    if (value === this._running || this._isDisposed) {
      return;
    }
    this._running = value;
    if (value) {
      this.tick();
    } else {
      this._clearTimer();
    }
  }

  /** Run the task now (also when stopped), and restart the interval. */
  tick(): void {
    if (this._isDisposed) {
      return;
    }
    if (this._inFlight) {
      this._again = true;
      return;
    }
    this._clearTimer();
    this._inFlight = true;
    // The task reports its own failures; the ticker only keeps the beat.
    void this._task()
      .catch(() => undefined)
      .finally(() => {
        this._inFlight = false;
        if (this._again) {
          this._again = false;
          this.tick();
        } else if (this._running && !this._isDisposed) {
          this._timer = setTimeout(() => {
            this._timer = null;
            this.tick();
          }, this._intervalMs);
        }
      });
  }

  dispose(): void {
    this._isDisposed = true;
    this._running = false;
    this._clearTimer();
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _task: () => Promise<void>;
  private _intervalMs: number;
  private _running = false;
  private _inFlight = false;
  private _again = false;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _isDisposed = false;
}
