package sink

import "markimport/pipeline/mark"

// Meaning says, for a code of a report line, what it means and what to do
// about it, in words a reader of the report understands: the API's codes
// that fail an item, the local codes of rows never sent, and every fatal
// code with the fix its hint gives. A code it does not know gets a general
// reading by its class.
func Meaning(code int) (meaning, action string) {
	if m, ok := meanings[code]; ok {
		return m.meaning, m.action
	}
	switch classifyCode(code) {
	case classThrottled:
		return "the API's quota was exceeded (throttled)", "nothing: markimport slows down and retries; if rows still failed, another client shares the quota: lower --rate"
	case classTransient:
		return "a transient error of the service", "run again: the failed rows are sent again (re-sending changes nothing already applied)"
	case classFatal, classSigExpired:
		return "a fatal answer: the run stopped", hint(code)
	}
	return "the API refused the item (a code markimport does not know)", "look the code up in the API's error codes; fix the rows, then run them again (--rejects)"
}

// meanings are the codes whose reading is more than their class.
var meanings = map[int]struct{ meaning, action string }{
	0:                    {"no error", "nothing"},
	mark.CodeInvalid:     {"the row breaks a rule of the input, or the API found a parameter wrong; the message names the column and the value", "fix the rows (--rejects writes them in the input's format), then import the fixed file"},
	50001:                {"the user (From_Account or the peer) is not an account imported into IM", "import the accounts first, then run the rows again"},
	50004:                {"an internal error of the service, after every retry", "run again: the failed rows are sent again"},
	50005:                {"a network timeout inside the service, after every retry", "run again: the failed rows are sent again"},
	51007:                {"the group does not exist (its GroupID could not be resolved, or it was dismissed)", "check to_group_id; drop the rows of dismissed groups"},
	51008:                {"the user already has 1000 marked conversations, the API's limit (or the row is the user's 1001st conversation in this file)", "drop rows of that user, or remove old marked conversations first"},
	51012:                {"the user has reached the limit of pinned conversations", "drop or change those rows"},
	codeTransport:        {"no usable answer after every attempt: connection errors, timeouts, HTTP 5xx", "check the network to the endpoint, then run again: the failed rows are sent again"},
	codeProtocol:         {"an answer that breaks the API's documented shape (missing, duplicated or malformed results), after every attempt", "run again; if it persists, report it with the message"},
	mark.CodeUnreachable: {"the endpoint was never reached, or never answered", "check --region or --endpoint and the network, then run again with --resume"},
}
