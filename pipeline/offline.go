package pipeline

import "context"

// offline runs the pass that sends nothing. A dry run reports each row
// valid, invalid or rejected. A run whose guard found more bad rows than
// --max-invalid allows (guard) plans as usual and reports every row that
// would have been sent unsent, with the reason, and returns guard.
func (r *run) offline(ctx context.Context, produce func(context.Context) error, guard *GuardError) error {
	r.stopped = ctx
	if guard != nil && !r.opts.DryRun {
		r.stop.set(stoppedMaxInvalid, guard.Error(), "not sent: "+guard.Error())
		stopped, cancel := context.WithCancel(ctx)
		cancel()
		r.stopped = stopped
	}
	if err := produce(ctx); err != nil {
		return err
	}
	if r.sum.Rows == 0 {
		return r.noRows()
	}
	if err := r.markInputRead(); err != nil {
		return err
	}
	if guard != nil {
		return guard
	}
	return nil
}
