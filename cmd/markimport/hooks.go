package main

import (
	"time"

	"markimport/pipeline/durable"
)

// hooks are what a caller running a command in-process injects, as
// net/http/httptrace lets a caller observe a request: the tests see when
// each request leaves (they check the pacing by the departures the pacers
// admit) and write the backup through a file layer that records or fails
// its calls. main injects none: the zero value is the shipped behaviour.
type hooks struct {
	// departure sees every request to the write API (and verify's reads),
	// as its pacer lets it leave; nil: nothing sees it.
	departure func(time.Time)
	// readDeparture sees every read --backup and --mode insert make,
	// paced apart from the writes; nil: nothing sees it.
	readDeparture func(time.Time)
	// backupFS is the file layer the --backup files are written through;
	// nil: the disk.
	backupFS durable.FS
	// metricsFS is the file layer --metrics-file is written through;
	// nil: the disk.
	metricsFS durable.FS
	// leaseTTL is the lifetime of the leases in object storage, renewed
	// every third of it; 0: 2 minutes.
	leaseTTL time.Duration
}
