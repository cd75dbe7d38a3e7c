// Package mapping reads a mapping file (--map-file, TOML) and makes
// markimport's input columns from the columns of another table, such as a
// legacy chat system's export, row by row: the reach of a Salesforce Data
// Loader field mapping, and no further (anything more is a DuckDB query).
//
// The file gives, per target column, one rule:
//
//	from_account = "user_id"                    # a source column, as it is
//	type         = { group_flag = "is_group" }  # 1/true: group, 0/false: c2c
//	peer         = "peer_id"                    # to_account for c2c, to_group_id for group
//	custom_mark  = "label"
//	marks        = { starred = "star", pinned = 32 }  # true sets the bit, false clears it
//	opt_type     = { value = 3 }                # a constant
//
// Targets are the input columns (from_account, type, to_account,
// to_group_id, set_mark, clear_mark, custom_mark, opt_type), matched by
// name as a header's are, and two that stand for a pair: peer (to_account
// or to_group_id, by the row's type: one column, or { c2c = "peer_user",
// group = "peer_group" }) and marks (set_mark and clear_mark from boolean
// columns, each to one bit: 0–63 or star, unread, fold, hide). A rule is a
// column name, or a table of one kind: column, value, group_flag; peer's
// c2c and group; marks' columns. A target the file does not name is read
// from the input's own column, as without a mapping.
//
// Load refuses, naming the file's line and key: a target that is no
// column, one given twice (peer with to_account, marks with set_mark, two
// spellings of one name), an unknown kind of rule, a bit out of 0–63 or an
// unknown mark name, one bit from two columns. A source column the input
// lacks is refused when the input is opened, with the same line and key.
//
// The mapping is applied to each record before validation, a pure
// function of that record: a boolean or group flag that is not one of the accepted spellings (true,
// t, yes, y, 1; false, f, no, n, 0; any case, spaces around ignored), or
// empty, makes the row invalid with a message that names the source
// column, its value and the rule; a single peer column needs the row's
// type. The reports then show what the rule made of the source row:
// from_account and the peer as the source columns hold them, the type a
// group flag gave (or the flag's own value when it was not one).
//
// It imports readers, for the records it reshapes, and pipeline/mark, for
// the names of the standard marks.
package mapping
