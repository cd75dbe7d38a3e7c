package fakeim

import "time"

// PageSize is pageSize, for the external tests (package fakeim_test).
const PageSize = pageSize

// ShiftStamps makes the bytes the emulator receives from now on count as
// arriving d later than they did (see stamps.shift), as if the test had
// waited d before sending them.
func (s *Server) ShiftStamps(d time.Duration) { s.conns.shift.Store(int64(d)) }
