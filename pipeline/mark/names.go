package mark

import "strings"

// StandardNames are the standard marks Tencent's client SDKs define, by
// bit number: star is bit 0 (mark 1), unread bit 1, fold bit 2, hide bit
// 3. An app's own marks are bits 32–63.
var StandardNames = [...]string{"star", "unread", "fold", "hide"}

// SDKUndefined holds bits 4–31: the API accepts them, but the client SDKs
// define no mark on them and leave them to no app, so a file that sets or
// clears one is more likely wrong than meant.
const SDKUndefined uint64 = 1<<32 - 1<<len(StandardNames)

// BitNamed returns the bit of the standard mark named name, in any case;
// ok is false for another name.
func BitNamed(name string) (bit int, ok bool) {
	for n, s := range StandardNames {
		if strings.EqualFold(name, s) {
			return n, true
		}
	}
	return 0, false
}
