/** What session documents tell their users, in one place. */

export const READ_ONLY_TEXT =
  'Read only: you can view and follow, not edit or run';

export const NO_KERNEL_YET =
  'No sandbox kernel is running yet: it starts with the first run.';

export const NO_KERNEL_CHANGE =
  'A session notebook always runs in its sandbox kernel: there is no other kernel to choose.';

export const WAITING_FOR_INPUT =
  'Waiting for input from the person who ran this cell…';
