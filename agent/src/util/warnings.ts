/** A job's warnings: one line each, capped at MAX_WARNINGS (the last line then counts the rest). */
import { MAX_WARNINGS } from '@strata/protocol';

export class Warnings {
  private readonly list: string[] = [];
  private dropped = 0;

  readonly add = (message: string): void => {
    if (this.list.length < MAX_WARNINGS - 1) this.list.push(message);
    else this.dropped++;
  };

  result(): string[] {
    return this.dropped ? [...this.list, `... and ${this.dropped} more warnings`] : [...this.list];
  }
}
