package bucket

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// A journal mirrored by a run that was killed is read back part by part
// (ListMirror, then Get of each object) by the run that resumes it, in a
// new container if need be, and the journal is rebuilt from the parts the
// checks prove. The objects name themselves by number; what proves their
// bytes and their place is the checkpoints of the check objects, which
// cover the whole journal up to their segment (the writer's own proof):
// this package only says which objects are there, and refuses a hole.
//
// A segment whose check is missing can only be the last: its writer was
// killed between the two uploads, so no request left on its account. The
// run that resumes does not believe its rows (it reads those
// conversations again) and puts, in the place of its check, a marker
// saying it was dropped (DropSegment), so that a later resume, which
// finds segments after it, knows it is not part of the journal. Its rows
// stay in the bucket: a rollback from the folder reads them and, later,
// the rows read again for the same conversations, which win, the marks
// being those from before the first change either way.

// MirrorPart is segment N of a mirrored journal and its check object, as
// listed; part 0 is the header's check alone, without a segment.
type MirrorPart struct {
	N              int
	Segment, Check Object
	HasSegment     bool
	HasCheck       bool
}

// dropped is the body of the check object of a segment a resume dropped.
const dropped = "markimport: this segment was dropped by a resume: its writer was killed before its check was uploaded, so no request left on its account, and the conversations of its rows were read again\n"

// IsDropped reports whether the body of a check object says its segment
// was dropped.
func IsDropped(check []byte) bool { return bytes.Equal(check, []byte(dropped)) }

// DropSegment puts the marker of segment n dropped in the place of its
// check (a conditional put: a check there is never replaced).
func DropSegment(ctx context.Context, st Store, prefix Object, n int) error {
	o := prefix.Join(CheckName(n))
	if err := st.Put(ctx, o, []byte(dropped), true); err != nil {
		return fmt.Errorf("mark the segment %s dropped: %w", prefix.Join(SegmentName(n)), err)
	}
	return nil
}

// ListMirror lists the parts of the journal mirrored under prefix, in
// order, from part 0. It refuses, naming it, a segment or check missing
// where a later one is there: only the last segment may lack its check.
// Other objects under the prefix are not parts and are left out. No
// object at all is no part.
func ListMirror(ctx context.Context, st Store, prefix Object) ([]MirrorPart, error) {
	keys, err := st.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	segs, checks := map[int]bool{}, map[int]bool{}
	last := -1
	for _, k := range keys {
		name := strings.TrimPrefix(k, prefix.Key)
		if n, ok := segmentNumber(name); ok {
			segs[n] = true
			last = max(last, n)
		} else if n, ok := checkNumber(name); ok {
			checks[n] = true
			last = max(last, n)
		}
	}
	if last < 0 {
		return nil, nil
	}
	missing := func(name string, n int) error {
		return fmt.Errorf("%s is missing (the journal's segments and their checks are numbered without a gap, and part %08d is there): the journal cannot be rebuilt without it", prefix.Join(name), n)
	}
	parts := make([]MirrorPart, last+1)
	for n := range parts {
		p := MirrorPart{N: n, Check: prefix.Join(CheckName(n)), HasCheck: checks[n], HasSegment: segs[n]}
		if n > 0 {
			p.Segment = prefix.Join(SegmentName(n))
		}
		switch {
		case n > 0 && !p.HasSegment:
			return nil, missing(SegmentName(n), last)
		case !p.HasCheck && (n < last || n == 0):
			return nil, missing(CheckName(n), last)
		}
		parts[n] = p
	}
	return parts, nil
}

// checkNumber reads the number of a check object's name.
func checkNumber(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "_")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".check")
	if !ok || len(s) != 8 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}
