package backup

import (
	"strconv"

	"markimport/pipeline/mark"
)

// header is the backup's header: the columns of a markimport input, the
// conversation given by type and either to_account or to_group_id.
var header = []string{"from_account", "type", "to_account", "to_group_id", "set_mark", "clear_mark", "custom_mark", "opt_type"}

// Row is one restore row: an input row in the backup.
type Row struct {
	From  string
	Conv  mark.Conversation
	Set   uint64 // bits to set back to 1
	Clear uint64 // bits to clear back to 0
	// Custom is the custom mark to write back, when Opt has mark.OptCustom.
	Custom string
	Opt    uint8
}

// Restore returns the row that puts back what item it of user from
// changes, given the conversation's marks before the change (found is false
// when the server holds no marks for it). It returns false when the item
// changes nothing there, so that nothing needs restoring.
func Restore(from string, it *mark.Item, prev mark.ServerMarks, found bool) (Row, bool) {
	if !found {
		prev = mark.ServerMarks{}
	}
	row := Row{From: from, Conv: it.Conv}
	if it.Opt&mark.OptStandard != 0 {
		touched := it.Set | it.Clear
		row.Set, row.Clear = touched&prev.Standard, touched&^prev.Standard
	}
	if it.Opt&mark.OptCustom != 0 {
		row.Opt |= mark.OptCustom
		row.Custom = prev.Custom
	}
	if row.Set|row.Clear != 0 {
		row.Opt |= mark.OptStandard
	}
	if !it.Changes(prev, found) || row.Opt == 0 {
		return Row{}, false
	}
	return row, true
}

// fields renders the row in the columns of header. opt_type is always
// given, since a row writing back an empty custom mark alone says so only
// through it.
func (r *Row) fields() []string {
	rec := make([]string, len(header))
	rec[0] = r.From
	rec[1] = r.Conv.TypeName()
	if r.Conv.Type == mark.Group {
		rec[3] = r.Conv.Peer
	} else {
		rec[2] = r.Conv.Peer
	}
	rec[4] = bitList(r.Set)
	rec[5] = bitList(r.Clear)
	if r.Opt&mark.OptCustom != 0 {
		rec[6] = r.Custom
	}
	rec[7] = strconv.Itoa(int(r.Opt))
	return rec
}

// bitList renders bits as the input's "1|2" form ("" for none).
func bitList(mask uint64) string {
	var b []byte
	for _, n := range mark.Bits(mask) {
		if len(b) > 0 {
			b = append(b, '|')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return string(b)
}
