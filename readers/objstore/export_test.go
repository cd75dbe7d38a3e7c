package objstore

// What the external tests (package objstore_test) use of the package.
var (
	ErrExist = errExist
	New      = newFromEnv
)

// PartSize is partSize, for the external tests.
const PartSize = partSize
