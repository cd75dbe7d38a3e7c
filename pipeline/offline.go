package pipeline

import "context"

// offline runs the pass that sends nothing. A dry run reports each row
// valid, invalid or rejected; with a gate (validate --online), each row
// that would be sent would-change, already or unread instead. A run whose
// guard found more bad rows than --max-invalid allows (guard) plans as
// usual and reports every row that would have been sent unsent, with the
// reason, and returns guard.
func (r *run) offline(ctx context.Context, produce func(context.Context) error, guard *GuardError) error {
	r.stopped = ctx
	if guard != nil && !r.opts.DryRun {
		r.stop.set(stoppedMaxInvalid, guard.Error(), guard.Error())
		stopped, cancel := context.WithCancel(ctx)
		cancel()
		r.stopped = stopped
	}
	if r.previewing() {
		if err := r.preview(ctx, produce); err != nil {
			return err
		}
	} else if err := produce(ctx); err != nil {
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

// preview runs produce with the gate between the planner and nothing: each
// user's planned items are read back and reported as the gate judges
// them (gateStage.previewed). A fatal answer to a read stops the reading:
// the rows not read yet are reported unread with its reason, and it is
// returned.
func (r *run) preview(ctx context.Context, produce func(context.Context) error) error {
	stopped, cancel := context.WithCancel(ctx)
	defer cancel()
	r.stopped = stopped
	r.gate = r.startGate(cancel)
	err := produce(ctx)
	close(r.gate.in)
	r.gate.g.Wait()
	if gerr := r.gate.error(); gerr != nil && ctx.Err() == nil {
		return gerr
	}
	return err
}

// previewing reports whether the run is a preview: a dry run with a gate,
// whose workers take each user's plan after emit returns.
func (r *run) previewing() bool { return r.opts.DryRun && r.opts.Gate != nil }
