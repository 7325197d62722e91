//! Writing HTML and SVG text: escaping, the report's few Markdown marks, and a page that
//! holds everything it shows (styles and charts inline), so `report.html` opens from the
//! disk in any browser, with no server and no other file.

/// `text` with the five characters XML gives a meaning replaced by entities.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A paragraph of the report's Markdown in HTML: escaped, with `code` and **bold**
/// marked up (the only marks the report's words use).
pub fn inline(text: &str) -> String {
    let mut html = String::new();
    for (i, part) in escape(text).split('`').enumerate() {
        if i % 2 == 1 {
            html.push_str(&format!("<code>{part}</code>"));
        } else {
            for (j, piece) in part.split("**").enumerate() {
                if j % 2 == 1 {
                    html.push_str(&format!("<strong>{piece}</strong>"));
                } else {
                    html.push_str(piece);
                }
            }
        }
    }
    html
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1000px;margin:2em auto;\
padding:0 1em;line-height:1.45;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}\
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}\
th{background:#f3f3f3}\
figure.chart{margin:1em 0}figure.chart svg{max-width:100%;height:auto}\
p.warning{background:#fff3cd;border-left:5px solid #e0a800;padding:.6em 1em}\
code{background:#f3f3f3;padding:0 3px}";

/// A whole page called `title` around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_become_tags_and_the_rest_is_escaped() {
        assert_eq!(
            inline("**ch09** wins on `io` <by far>"),
            "<strong>ch09</strong> wins on <code>io</code> &lt;by far&gt;"
        );
    }
}
