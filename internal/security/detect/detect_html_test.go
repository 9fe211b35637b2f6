package detect

import "testing"

// TestHTMLMarkup checks injected markup and DOM sinks, and the angle brackets and dotted names
// of text that look alike.
func TestHTMLMarkup(t *testing.T) {
	checkShapes(t, []shapeCase{
		{
			name: "tag",
			fn:   hasHTMLTag,
			hits: []string{"<img src=x>", "\"><iframe>", "<plaintext>", "</title>", "<A HREF=\"http://66.102.7.147/\">XSS</A>", "<marquee>x", "<noscript#", "<script", "<iframe/src=x", "<svg"},
			miss: []string{"I love <b>bold</b> moves", "line<br>break", "a < b", "1<2 and 3>2", "John <john@example.com>", "List<String>", "<3", "<<>>", "x <= y", "<none>", "<scripts are fun", "<meta-data>", "<style_guide"},
		},
		{
			name: "DOM sink",
			fn:   hasDOMSink,
			hits: []string{"x.innerHTML='y'", "alert(document.cookie)", "String.fromCharCode(88)", "window.location='//x'"},
			miss: []string{"the document was signed", "cookie policy", "location: Berlin"},
		},
	})
}
