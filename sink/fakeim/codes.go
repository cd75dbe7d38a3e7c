package fakeim

// Codes the emulator answers, as ErrorCode (request level) or ResultCode
// (item level). The numbers and meanings are the real service's: the first
// group is private to the recentcontact APIs (their documentation), the rest are the
// public REST codes (60000-79999). Where the real service's choice for a
// situation is undocumented, the comment says which situation the emulator
// maps to the code.
const (
	// CodeOK means success.
	CodeOK = 0

	// CodeUnknownUser (50001, request level) means From_Account is not an
	// imported account; item level, a c2c To_Account is not. Only answered
	// when Config.Users is set.
	CodeUnknownUser = 50001
	// CodeInvalidParam (50002) is a malformed request: request level for a
	// body that is not the API's JSON object (bad JSON, unknown or
	// wrongly-cased field, wrong type, trailing data), an empty From_Account,
	// the same conversation twice in one mark_contact request, a bad
	// search_contact_group/get_contact_group body; item level for an item
	// breaking a documented rule of mark_contact (OptType, Type and peer, bits 0-63,
	// a bit both set and cleared, CustomMark presence and 256-byte limit).
	CodeInvalidParam = 50002
	// CodeNotAdmin (50003) means the identifier is not in Config.Admins.
	CodeNotAdmin = 50003
	// CodeInternal (50004) is a transient server error, injected at request
	// level (Config.TransientRate) or item level (Config.ItemTransientRate).
	CodeInternal = 50004
	// CodeTimeout (50005) is a transient item-level timeout, injected by
	// Config.ItemTransientRate.
	CodeTimeout = 50005
	// CodeItemCount (51006) means a mark_contact request has no MarkItem or
	// more than 100.
	CodeItemCount = 51006
	// CodeGroupNotFound (51007, item level) means a ToGroupId is not a
	// group. Only answered when Config.Groups is set.
	CodeGroupNotFound = 51007
	// CodeTooManyConversations (51008, item level) means the item would
	// give its user more marked conversations than Config.MaxConversations.
	CodeTooManyConversations = 51008
	// CodeEdition (51013, request level) means a mark_contact request
	// changes standard marks (an item with OptType 1 or 3) while
	// Config.NoStandardMarks says the app is not on the Ultimate/Pro
	// edition. Nothing in such a request is applied.
	CodeEdition = 51013

	// CodeBadURL (60002) means the request line is malformed: not POST, or
	// a query parameter identifier, random (a decimal uint32) or contenttype
	// (must be "json") missing, repeated or invalid, or sdkappid not a
	// number.
	CodeBadURL = 60002
	// CodeRateLimited (60007) means the API's calls-per-second limit
	// (Config.RateLimit) was reached; the request was not applied.
	CodeRateLimited = 60007
	// CodeNoSDKAppID (60012) means the sdkappid query parameter is missing.
	CodeNoSDKAppID = 60012

	// CodeSigExpired (70001) means the usersig has expired, or is older than
	// Config.SigTTL.
	CodeSigExpired = 70001
	// CodeSigInvalid (70003) means the usersig is missing or cannot be
	// parsed as a TLS sig v2.
	CodeSigInvalid = 70003
	// CodeSigMismatch (70009) means the usersig was not made with
	// Config.SecretKey, or differs from Config.UserSig.
	CodeSigMismatch = 70009
	// CodeSigIdentifier (70013) means the usersig was made for another
	// identifier than the query's.
	CodeSigIdentifier = 70013
	// CodeSigSDKAppID (70014) means the usersig was made for another
	// SDKAppID than the query's.
	CodeSigSDKAppID = 70014
	// CodeSDKAppIDNotFound (70020) means the query's sdkappid is not
	// Config.SDKAppID: the app does not exist here, as when a client talks
	// to the wrong region.
	CodeSDKAppIDNotFound = 70020
	// CodeServerError (70500) is a transient internal error, injected at
	// request level by Config.TransientRate.
	CodeServerError = 70500
)

// isClientBug reports whether a request-level code can only be caused by a
// malformed request, as opposed to configuration, credentials or load.
func isClientBug(code int) bool {
	switch code {
	case CodeInvalidParam, CodeItemCount, CodeBadURL, CodeNoSDKAppID:
		return true
	}
	return false
}
