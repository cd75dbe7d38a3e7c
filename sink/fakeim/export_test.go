package fakeim

// PageSize is pageSize, for the external tests (package fakeim_test).
const PageSize = pageSize
