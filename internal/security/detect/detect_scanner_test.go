package detect

import "testing"

// TestScannerVocabulary checks that a User-Agent naming a tool by what it does (scan, fuzz,
// brute-force, inject, exploit) is refused where a product name stands, and that prose and
// ordinary clients using the same words are not.
func TestScannerVocabulary(t *testing.T) {
	d := New(Options{CacheSize: -1})
	inspect := func(v string) (Finding, bool) {
		r := newBrowserRequest("/predict")
		r.Header.Set("User-Agent", v)
		return d.InspectRequest(r)
	}
	for _, v := range []string{
		"CrimScanner/1.1", "WebVulnScan", "gootkit auto-rooter scanner", "Mozilla/5.0 (compatible; FooScanner)",
		"XmlRpcExploit/0.2", "WPBruteForcer", "Grendel-Scan/1.0", "sqlinjector/2", "Mozilla/5.0 (compatible; SuperFuzzer 1.0)",
		"Mozilla/5.0 (compatible; vulnhunter; +http://example.com)", "vega", "Hydra", "Ruler/2.4", "Amass/3.19",
		"subfinder/2.6", "Metasploit/6.3", "internet ninja 6.0", "Toata dragostea mea pentru diavola", "DataCha0s/2.0",
		"Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)", "Netcraft Web Server Survey",
		"SQL Power Injector 1.2", "this is an exploit", "xmlrpc exploit", "Medusa v2.2", "Katana V1",
		"Cobalt Strike Beacon", "WebScarab/1.0",
	} {
		if f, ok := inspect(v); !ok || f.Rule != RuleScanner {
			t.Errorf("User-Agent %q: got %+v, %v; want a scanner finding", v, f, ok)
		}
	}
	for _, v := range []string{
		"Moreover, phpinfo can potentially leak sensitive configuration details that an attacker can exploit.",
		"scan the code", "Scandinavian Airlines", "a scandal", "barcode scanner", "vulnerability report",
		"Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
		"the hydra of Lerna", "Ruler of the realm", "Medusa and Perseus", "curl/8.4.0", "Wget/1.21.4",
		"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "Screaming Frog SEO Spider/19.4",
		"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", "CamScanner",
		"the medusa v the hydra", "Cobalt blue", "strike a pose",
	} {
		if f, ok := inspect(v); ok {
			t.Errorf("User-Agent %q: got %+v, want none", v, f)
		}
	}
}

func TestScannerVocabularyAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		scannerVocabularyToken("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	}); n != 0 {
		t.Fatalf("scannerVocabularyToken allocates %v times, want 0", n)
	}
}
