package fakeim

// Codes the emulator answers, as ErrorCode (request level) or ResultCode
// (item level). The numbers and meanings are the real service's: the first
// group is private to the recentcontact APIs (their documentation), the rest are the
// public REST codes (60000-79999). Where the real service's choice for a
// situation is undocumented, the comment says which situation the emulator
// maps to the code.
const (
	// codeOK means success.
	codeOK = 0

	// codeUnknownUser (50001, request level) means From_Account is not an
	// imported account; item level, a c2c To_Account is not. Only answered
	// when Config.Users is set.
	codeUnknownUser = 50001
	// codeInvalidParam (50002) is a malformed request: request level for a
	// body that is not the API's JSON object (bad JSON, unknown or
	// wrongly-cased field, wrong type, trailing data), an empty From_Account,
	// the same conversation twice in one mark_contact request, a bad
	// search_contact_group/get_contact_group body; item level for an item
	// breaking a documented rule of mark_contact (OptType, Type and peer, bits 0-63,
	// a bit both set and cleared, CustomMark presence and 256-byte limit).
	codeInvalidParam = 50002
	// codeNotAdmin (50003) means the identifier is not in Config.Admins.
	codeNotAdmin = 50003
	// codeInternal (50004) is a transient server error, injected at request
	// level (Config.TransientRate) or item level (Config.ItemTransientRate).
	codeInternal = 50004
	// codeTimeout (50005) is a transient item-level timeout, injected by
	// Config.ItemTransientRate.
	codeTimeout = 50005
	// codeItemCount (51006) means a mark_contact request has no MarkItem or
	// more than 100.
	codeItemCount = 51006
	// codeGroupNotFound (51007, item level) means a ToGroupId is not a
	// group. Only answered when Config.Groups is set.
	codeGroupNotFound = 51007
	// codeTooManyConversations (51008, item level) means the item would
	// give its user more marked conversations than Config.MaxConversations.
	codeTooManyConversations = 51008
	// codeEdition (51013, request level) means a mark_contact request
	// changes standard marks (an item with OptType 1 or 3) while
	// Config.NoStandardMarks says the app is not on the Ultimate/Pro
	// edition. Nothing in such a request is applied.
	codeEdition = 51013

	// codeBadURL (60002) means the request line is malformed: not POST, or
	// a query parameter identifier, random (a decimal uint32) or contenttype
	// (must be "json") missing, repeated or invalid, or sdkappid not a
	// number.
	codeBadURL = 60002
	// codeRateLimited (60007) means the API's calls-per-second limit
	// (Config.RateLimit) was reached; the request was not applied.
	codeRateLimited = 60007
	// codeNoSDKAppID (60012) means the sdkappid query parameter is missing.
	codeNoSDKAppID = 60012

	// codeSigExpired (70001) means the usersig has expired, or is older than
	// Config.SigTTL.
	codeSigExpired = 70001
	// codeSigInvalid (70003) means the usersig is missing or cannot be
	// parsed as a TLS sig v2.
	codeSigInvalid = 70003
	// codeSigMismatch (70009) means the usersig was not made with
	// Config.SecretKey, or differs from Config.UserSig.
	codeSigMismatch = 70009
	// codeSigIdentifier (70013) means the usersig was made for another
	// identifier than the query's.
	codeSigIdentifier = 70013
	// codeSigSDKAppID (70014) means the usersig was made for another
	// SDKAppID than the query's.
	codeSigSDKAppID = 70014
	// codeSDKAppIDNotFound (70020) means the query's sdkappid is not
	// Config.SDKAppID: the app does not exist here, as when a client talks
	// to the wrong region.
	codeSDKAppIDNotFound = 70020
	// codeServerError (70500) is a transient internal error, injected at
	// request level by Config.TransientRate.
	codeServerError = 70500
)

// isClientBug reports whether a request-level code can only be caused by a
// malformed request, as opposed to configuration, credentials or load.
func isClientBug(code int) bool {
	switch code {
	case codeInvalidParam, codeItemCount, codeBadURL, codeNoSDKAppID:
		return true
	}
	return false
}
