package detect

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benignGen draws realistic, harmless requests and strings from a seeded source, so that every
// run checks the same ones.
type benignGen struct {
	rng *rand.Rand
}

func newBenignGen(seed uint64) *benignGen {
	return &benignGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *benignGen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

func (g *benignGen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	return string(b)
}

func (g *benignGen) alnum(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return string(b)
}

const (
	lowerHex  = "0123456789abcdef"
	base36    = "0123456789abcdefghijklmnopqrstuvwxyz"
	idLetters = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
)

func (g *benignGen) uuid() string {
	h := g.alnum(32, lowerHex)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

func (g *benignGen) timestamp() time.Time {
	return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(g.rng.Int64N(int64(600 * 24 * time.Hour))))
}

func (g *benignGen) token(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.IntN(256))
	}
	if g.rng.IntN(2) == 0 {
		return base64.StdEncoding.EncodeToString(b)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// transactionID draws an id in one of the shapes payment systems use: letters, digits, _-.:
func (g *benignGen) transactionID() string {
	switch g.rng.IntN(8) {
	case 0:
		return "txn_" + g.alnum(24, base36)
	case 1:
		return g.uuid()
	case 2:
		return "TX-" + strconv.Itoa(2020+g.rng.IntN(6)) + "-" + g.digits(8)
	case 3:
		return "ord:" + g.digits(6) + ":" + g.alnum(6, base36)
	case 4:
		return "pi_" + g.alnum(24, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
	case 5:
		return g.pick([]string{"POS", "ECOM", "ATM", "MOTO"}) + "." + g.alnum(4, idLetters) + "." + g.digits(10)
	case 6:
		return g.timestamp().Format("20060102T150405") + "-" + g.alnum(8, idLetters)
	default:
		return g.digits(12 + g.rng.IntN(8))
	}
}

func (g *benignGen) userAgent() string {
	chrome := strconv.Itoa(110+g.rng.IntN(20)) + ".0." + strconv.Itoa(5000+g.rng.IntN(1500)) + "." + strconv.Itoa(g.rng.IntN(200))
	firefox := strconv.Itoa(110 + g.rng.IntN(20))
	safari := g.pick([]string{"16.6", "17.0", "17.2.1", "17.4", "18.1"})
	switch g.rng.IntN(20) {
	case 0:
		return "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + chrome + " Safari/537.36"
	case 1:
		return "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + chrome + " Safari/537.36"
	case 2:
		return "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + chrome + " Safari/537.36"
	case 3:
		return "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + chrome + " Mobile Safari/537.36"
	case 4:
		return "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:" + firefox + ".0) Gecko/20100101 Firefox/" + firefox + ".0"
	case 5:
		return "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:" + firefox + ".0) Gecko/20100101 Firefox/" + firefox + ".0"
	case 6:
		return "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:" + firefox + ".0) Gecko/20100101 Firefox/" + firefox + ".0"
	case 7:
		return "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/" + safari + " Safari/605.1.15"
	case 8:
		return "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/" + safari + " Mobile/15E148 Safari/604.1"
	case 9:
		return "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + chrome + " Safari/537.36 Edg/" + chrome
	case 10:
		return "python-requests/2." + strconv.Itoa(25+g.rng.IntN(8)) + "." + strconv.Itoa(g.rng.IntN(4))
	case 11:
		return "okhttp/4." + strconv.Itoa(9+g.rng.IntN(4)) + ".0"
	case 12:
		return g.pick([]string{"Go-http-client/1.1", "Go-http-client/2.0"})
	case 13:
		return "curl/8." + strconv.Itoa(g.rng.IntN(10)) + "." + strconv.Itoa(g.rng.IntN(3))
	case 14:
		return g.pick([]string{"axios/1.6.7", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "undici", "node"})
	case 15:
		return g.pick([]string{"Apache-HttpClient/4.5.14 (Java/17.0.9)", "Java-http-client/21.0.2", "Java/1.8.0_392"})
	case 16:
		return g.pick([]string{"PostmanRuntime/7.36.1", "insomnia/8.6.1", "HTTPie/3.2.2"})
	case 17:
		return g.pick([]string{"Dart/3.2 (dart:io)", "aiohttp/3.9.1 Python/3.11", "Faraday v2.9.0", "Ruby", "RestSharp/110.2.0.0"})
	case 18:
		return "fraudguard-client/" + strconv.Itoa(1+g.rng.IntN(3)) + "." + strconv.Itoa(g.rng.IntN(10)) + ".0 (" + g.pick([]string{"linux; amd64", "darwin; arm64", "windows; amd64"}) + ")"
	default:
		return "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/" + chrome + " Mobile/15E148 Safari/604.1"
	}
}

// benignFirst() lists given names, some with apostrophes, hyphens and accents.
func benignFirst() []string {
	return []string{"Liam", "Olivia", "Noah", "Emma", "Seán", "Zoë", "José", "Mary-Kate", "Jean-Luc", "Aoife", "Mohammed", "Priya", "Chloé", "D'Andre", "Bjørn", "Łukasz", "Anne Marie"}
}

// benignLast() lists family names, some with apostrophes and particles.
func benignLast() []string {
	return []string{"O'Brien", "O'Neil", "D'Angelo", "McDonald", "Smith-Jones", "van der Berg", "Núñez", "Müller", "O'Connor", "St. John", "de la Cruz", "Nguyen", "Al-Farsi", "Kowalski"}
}

// benignCompany() lists shop and company names, many with & and apostrophes, some with SQL or HTML words in them.
func benignCompany() []string {
	return []string{"O'Brien & Sons", "Ben & Jerry's", "Barnes & Noble", "Procter & Gamble", "AT&T", "H&M", "Marks & Spencer", "Macy's", "McDonald's", "Dunkin' Donuts", "Trader Joe's", "L'Oréal Paris", "7-Eleven", "Chick-fil-A", "Toys \"R\" Us", "Johnson & Johnson", "Crate & Barrel", "Bed Bath & Beyond", "Sleep Number (Select Comfort)", "Union Pacific", "Table Mountain Café", "Drop Box Storage Ltd.", "The Order Inn", "Exec Air Charter", "Insert Coin Arcade", "Grant & Revoke LLP", "Script & Co. Stationery", "Alert Security Ltd", "Where Else? Bookshop"}
}

// benignStreets() lists street names.
func benignStreets() []string {
	return []string{"Main St.", "O'Connell Street", "Rue de l'Église", "Avenue des Champs-Élysées", "Baker Street", "Calle Mayor", "King's Road", "5th Ave", "Via dell'Orso", "Straße des 17. Juni"}
}

// benignCities() lists places, some with apostrophes and commas.
func benignCities() []string {
	return []string{"Côte d'Ivoire", "London", "St. John's", "Paris", "Zürich", "São Paulo", "L'Aquila", "Winston-Salem", "Coeur d'Alene", "Washington, D.C."}
}

// benignPhrases() lists notes people write: punctuation, quotes, dashes, percentages and SQL words used as English.
func benignPhrases() []string {
	return []string{
		"it's 50% off",
		"Save 50% -- today only!",
		"SELECT Comfort mattress, queen size",
		"Select an option",
		"Where is my order?",
		"Please leave it at the back door -- ring twice",
		"Order #4521 shipped; tracking to follow",
		"Update: delivery moved to Friday",
		"Delete my saved card, please",
		"Drop off at reception (2nd floor)",
		"Union Square, San Francisco, CA 94108",
		"Table for 2 at 7:30pm",
		"Rock 'n' Roll Hall of Fame",
		"Don't forget the gift wrap!",
		"You're all set; we'll email you.",
		"Buy 2, get 1 free",
		"Levi's 501 jeans (32\" x 34\")",
		"1/2 price on Tuesdays",
		"Size 10 1/2 -- wide fit",
		"Happy hour 5-7 p.m.",
		"C# & .NET developer",
		"Call 1-800-555-0199 or (555) 010-0199",
		"and/or",
		"Q&A: what's included?",
		"Tom & Jerry's \"best\" deli",
		"I'm here; you're there.",
		"The '80s & '90s mix",
		"Children's Place gift card",
		"Fish & Chips £5.99",
		"Total: €1,234.56 (incl. VAT 20%)",
		"Refund #A-1203 -- approved",
		"He said \"thanks\" and left",
		"100% cotton, machine-wash 30°C",
		"Mon-Fri 9:00-17:30, Sat 10-4",
		"Apt. 4B, 2nd fl.",
		"P.O. Box 1234",
		"Wait... what?",
		"N/A",
		"Gift for Mum <3",
		"Thanks :-)",
		"Best regards, -- Jo",
		"order by phone",
		"insert card and enter PIN",
		"exec lounge access",
		"script writing workshop",
		"drop-down menu broken?",
		"union jack flag (3'x5')",
		"1 or 2 items",
		"pick 1 and 2",
		"Room 101 & 102",
		"5 o'clock shadow",
		"rock & roll / jazz",
		"null and void",
		"Case #12 -- closed",
		"45 min. -- approx.",
		"select all that apply",
		"from 9 to 5",
		"Sleep number 1-100",
		"Alert: card expires 03/27",
		"100 - 20 = 80",
		"Top 10 (2024 edition)",
		"e.g. 'Smith' or 'Jones'",
		"and 10% tip",
		"order by 5",
		"and/or 2",
		"#4521",
		"+44 20 7946 0958",
		"or best offer",
		"(c) 2024 Example Ltd",
		"Union Select Committee",
		"JavaScript: The Good Parts",
		"x=1, y=2",
		"Mix & match: 3 for £10",
		"Black & Decker 20V drill (w/ battery)",
		"rated 4.5/5 (1,203 reviews)",
		"Re: Order #12 -- where's my refund?",
		"5'10\" tall",
		"It's \"on sale\" -- again",
		"j.o'neil+shop@example.com",
		"SKU: AB-1234/XL",
		"sleep mask (2-pack)",
		"benchmark results: 10/10",
		"Tab\tseparated\tnote",
		"Line one\nline two",
		"1 = 1 in my book",
		"table 4 -- by the window",
		"where's the exec lounge?",
		"Drop table tennis lessons",
		"Insert into envelope",
		"Delete from my list",
		"Update set for Monday",
	}
}

// benignSentences() lists sentence templates with {n}, {m} and {thing} to fill in.
func benignSentences() []string {
	return []string{
		"Please deliver between {n} and {m} pm",
		"Order {n} of {m} -- thanks!",
		"Select {n} items from the {thing} range",
		"Union members get {n}% off {thing}",
		"Drop {n} of the {thing} boxes at the back",
		"Table for {n} at the {thing} restaurant",
		"Insert {n} coins to play {thing}",
		"Update: {n} parcels left the {thing} depot",
		"Delete {n} old cards from my {thing} wallet",
		"Where are the {n} {thing} I ordered?",
		"I'd like {n} more {thing}, please",
		"Can't find order {n} -- {thing}",
		"{n} x {thing} (gift-wrapped)",
		"Having {n} issues with the {thing} app",
		"Group of {n}, {thing} menu",
		"Order by {n} pm for next-day {thing}",
		"{n}% off all {thing} -- ends Sunday",
		"Sold out? We'll restock {n} {thing} soon",
		"It's {n} days late; the {thing} was damaged",
		"Ref. {n}: {thing} refund requested",
	}
}

// benignNouns() lists what fills {thing}.
func benignNouns() []string {
	return []string{"blue", "winter coats", "garden", "coffee", "Mother's Day", "kids'", "O'Neill's", "vegan", "premium", "sale", "tablet", "script fonts", "alert tone", "data plan"}
}

// freeText draws a string a person or a shop system might put in a free-text field.
func (g *benignGen) freeText() string {
	switch g.rng.IntN(12) {
	case 0:
		return g.pick(benignFirst()) + " " + g.pick(benignLast())
	case 1:
		return g.pick(benignCompany())
	case 2:
		return strconv.Itoa(1+g.rng.IntN(999)) + " " + g.pick(benignStreets()) + ", " + g.pick(benignCities())
	case 3:
		return strings.ToLower(strings.NewReplacer("'", "", " ", ".", "&", "and").Replace(g.pick(benignFirst())+"."+g.pick(benignLast()))) + "@" + g.pick([]string{"example.com", "mail.example.org", "shop.example.co.uk"})
	case 4:
		return g.timestamp().Format(g.pick([]string{time.RFC3339, time.RFC3339Nano, "2006-01-02 15:04:05", time.RFC1123, "02/01/2006"}))
	case 5:
		return g.uuid()
	case 6:
		return g.token(8 + g.rng.IntN(40))
	case 7, 8:
		return g.pick(benignPhrases())
	case 9:
		return g.pick(benignCompany()) + " -- " + g.pick(benignPhrases())
	default:
		return strings.NewReplacer("{n}", strconv.Itoa(1+g.rng.IntN(20)), "{m}", strconv.Itoa(1+g.rng.IntN(99)), "{thing}", g.pick(benignNouns())).Replace(g.pick(benignSentences()))
	}
}

// referer draws the page a browser came from, with a query string most of the time. Chrome
// leaves quotes unescaped in queries and Firefox escapes them: both appear.
func (g *benignGen) referer() string {
	host := g.pick([]string{"https://shop.example.com", "https://www.example.org", "https://checkout.example.net", "https://www.google.com", "https://m.example.co.uk"})
	path := g.pick([]string{"/", "/checkout", "/cart", "/search", "/products/blue-widget-2", "/account/orders/" + g.digits(6), "/en-gb/help/faq.html", "/p/12345~slim-fit"})
	if g.rng.IntN(5) == 0 {
		return host + path
	}
	q := url.Values{}
	for range 1 + g.rng.IntN(4) {
		switch g.rng.IntN(6) {
		case 0:
			q.Set("q", g.freeText())
		case 1:
			q.Set("utm_source", g.pick([]string{"newsletter", "google", "facebook", "partner-site"}))
			q.Set("utm_medium", g.pick([]string{"email", "cpc", "social"}))
			q.Set("utm_campaign", g.pick([]string{"spring_sale_2024", "black-friday", "back to school"}))
		case 2:
			q.Set("step", strconv.Itoa(1+g.rng.IntN(4)))
		case 3:
			q.Set("ref", g.transactionID())
		case 4:
			q.Set("sort", g.pick([]string{"price_asc", "price-desc", "relevance", "newest"}))
		default:
			q.Set("gclid", g.token(24))
		}
	}
	enc := q.Encode()
	if g.rng.IntN(2) == 0 {
		enc = strings.ReplaceAll(strings.ReplaceAll(enc, "%27", "'"), "%22", "\"")
	}
	return host + path + "?" + enc
}

func (g *benignGen) cookie() string {
	crumbs := []string{"sid=" + g.token(24)}
	if g.rng.IntN(2) == 0 {
		crumbs = append(crumbs, "_ga=GA1.2."+g.digits(9)+"."+g.digits(10))
	}
	if g.rng.IntN(2) == 0 {
		crumbs = append(crumbs, "theme="+g.pick([]string{"dark", "light", "high-contrast"}))
	}
	if g.rng.IntN(3) == 0 {
		crumbs = append(crumbs, "cart="+g.uuid())
	}
	if g.rng.IntN(3) == 0 {
		crumbs = append(crumbs, "prefs="+url.QueryEscape(fmt.Sprintf(`{"lang":"%s","currency":"%s","name":%q}`, g.pick([]string{"en", "fr", "de"}), g.pick([]string{"GBP", "EUR", "USD"}), g.pick(benignFirst()))))
	}
	if g.rng.IntN(4) == 0 {
		crumbs = append(crumbs, "last_search="+url.PathEscape(g.freeText()))
	}
	return strings.Join(crumbs, "; ")
}

func (g *benignGen) forwardedFor() string {
	ip := func() string {
		if g.rng.IntN(5) == 0 {
			return "2001:db8:" + g.alnum(4, lowerHex) + "::" + g.alnum(3, lowerHex)
		}
		return strconv.Itoa(1+g.rng.IntN(223)) + "." + strconv.Itoa(g.rng.IntN(256)) + "." + strconv.Itoa(g.rng.IntN(256)) + "." + strconv.Itoa(1+g.rng.IntN(254))
	}
	hops := make([]string, 1+g.rng.IntN(3))
	for i := range hops {
		hops[i] = ip()
	}
	return strings.Join(hops, g.pick([]string{", ", ","}))
}

// request draws one /predict (or neighbouring) request with realistic headers.
func (g *benignGen) request() *http.Request {
	target := g.pick([]string{"/predict", "/predict", "/predict", "/predict/batch", "/v1/predict", "/model", "/health/ready"})
	if g.rng.IntN(4) == 0 {
		q := url.Values{}
		q.Set(g.pick([]string{"explain", "debug", "threshold", "model"}), g.pick([]string{"true", "false", "0.5", "v3", "latest"}))
		if g.rng.IntN(2) == 0 {
			q.Set(g.pick([]string{"note", "merchant", "q", "customer_name"}), g.freeText())
		}
		target += "?" + q.Encode()
	}
	r := httptest.NewRequest(http.MethodPost, target, nil)
	r.Header.Set("User-Agent", g.userAgent())
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", g.pick([]string{"application/json", "*/*", "application/json, text/plain, */*"}))
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	if g.rng.IntN(2) == 0 {
		r.Header.Set("Accept-Language", g.pick([]string{"en-GB,en;q=0.9", "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", "de-DE"}))
		r.Header.Set("Referer", g.referer())
		r.Header.Set("Cookie", g.cookie())
		r.Header.Set("Origin", "https://shop.example.com")
	}
	if g.rng.IntN(2) == 0 {
		r.Header.Set("X-Forwarded-For", g.forwardedFor())
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Amzn-Trace-Id", "Root=1-"+g.alnum(8, lowerHex)+"-"+g.alnum(24, lowerHex)+";Parent="+g.alnum(16, lowerHex)+";Sampled=1")
	}
	r.Header.Set("X-Request-ID", g.pick([]string{g.uuid(), "req_" + g.alnum(20, base36), g.alnum(26, idLetters)}))
	if g.rng.IntN(2) == 0 {
		r.Header.Set("X-Api-Key", "fg_live_"+g.token(30))
		r.Header.Set("Authorization", "Bearer "+g.token(48))
	}
	if g.rng.IntN(3) == 0 {
		r.Header.Set("X-Client-Version", strconv.Itoa(g.rng.IntN(5))+"."+strconv.Itoa(g.rng.IntN(20))+"."+strconv.Itoa(g.rng.IntN(50)))
		r.Header.Set("X-Device-Id", g.uuid())
		r.Header.Set("X-Timezone", g.pick([]string{"Europe/London", "America/New_York", "Asia/Kolkata", "UTC"}))
		r.Header.Set("X-Requested-With", "XMLHttpRequest")
	}
	if g.rng.IntN(4) == 0 {
		r.Header.Set("X-Merchant-Name", g.pick(benignCompany()))
	}
	return r
}

// jsonStrings draws the strings a /predict body carries: the transaction id and, now and then,
// unknown fields with free text that the decoder passes to InspectString before rejecting.
func (g *benignGen) jsonStrings() [][2]string {
	out := [][2]string{{"json:transaction_id", g.transactionID()}}
	if g.rng.IntN(2) == 0 {
		key := g.pick([]string{"merchant_name", "note", "customer", "address", "email", "created_at", "device_id", "token", "description", "shipping address"})
		out = append(out, [2]string{"json:key", key}, [2]string{"json:" + key, g.freeText()})
	}
	return out
}

func TestDetectorBenignRequests(t *testing.T) {
	const requests = 12000
	d := New(Options{})
	g := newBenignGen(20240611)
	fps := 0
	for i := range requests {
		r := g.request()
		if f, ok := d.InspectRequest(r); ok {
			fps++
			t.Errorf("request %d %s: got %+v, want no finding (headers %v)", i, r.URL, f, r.Header)
		}
		for _, s := range g.jsonStrings() {
			if f, ok := d.InspectString(s[0], s[1]); ok {
				fps++
				t.Errorf("string %q at %s: got %+v, want no finding", s[1], s[0], f)
			}
		}
		if fps > 50 {
			t.Fatal("too many false positives; stopping")
		}
	}
}

func TestDetectorBenignFreeText(t *testing.T) {
	d := New(Options{CacheSize: -1})
	g := newBenignGen(7)
	texts := append(append(append([]string{}, benignPhrases()...), benignCompany()...), benignCities()...)
	for range 5000 {
		texts = append(texts, g.freeText())
	}
	for _, s := range texts {
		for _, loc := range []struct {
			name string
			r    func(string) *http.Request
		}{
			{"query value", func(s string) *http.Request { return newBrowserRequest("/predict?note=" + url.QueryEscape(s)) }},
			{"header X-Note", func(s string) *http.Request {
				r := newBrowserRequest("/predict")
				r.Header.Set("X-Note", s)
				return r
			}},
		} {
			if f, ok := d.InspectRequest(loc.r(s)); ok {
				t.Errorf("%q in %s: got %+v, want no finding", s, loc.name, f)
			}
		}
		if f, ok := d.InspectString("json:note", s); ok {
			t.Errorf("%q as a JSON string: got %+v, want no finding", s, f)
		}
	}
}
