package sink

import "testing"

// TestRegions pins the data centres of the REST API overview page: a domain
// changed or a region dropped by mistake is seen here.
func TestRegions(t *testing.T) {
	want := map[string]string{
		"china":          "https://console.tim.qq.com",
		"singapore":      "https://adminapisgp.im.qcloud.com",
		"seoul":          "https://adminapikr.im.qcloud.com",
		"frankfurt":      "https://adminapiger.im.qcloud.com",
		"mumbai":         "https://adminapiind.im.qcloud.com",
		"silicon-valley": "https://adminapiusa.im.qcloud.com",
		"jakarta":        "https://adminapiidn.im.qcloud.com",
		"tokyo":          "https://adminapijpn.im.qcloud.com",
	}
	if len(RegionNames()) != len(want) {
		t.Errorf("regions %v, want %d", RegionNames(), len(want))
	}
	for name, url := range want {
		got, err := RegionEndpoint(" " + name + " ")
		if err != nil || got != url {
			t.Errorf("RegionEndpoint(%q) = %q, %v; want %q", name, got, err, url)
		}
	}
	if _, err := RegionEndpoint("india"); err == nil {
		t.Error("an unknown region was accepted")
	}
}
