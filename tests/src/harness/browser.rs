//! A minimal browser for OAuth flows: follows no redirects, keeps the cookies hosts set and
//! sends them back, and reads the link on the host's OAuth start page.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// One browser profile: its own cookie jar.
pub struct Browser {
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Mutex::default(),
        }
    }

    /// GETs `url` with this browser's cookies; keeps the cookies the answer sets (a
    /// `Max-Age=0` one is removed). Cookies are kept per name only: every host in the tests is
    /// on 127.0.0.1.
    pub async fn get(&self, url: &str) -> reqwest::Response {
        let mut request = self.client.get(url);
        let header = self.cookie_header();
        if !header.is_empty() {
            request = request.header("cookie", header);
        }
        let response = request.send().await.expect("browser request");
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().expect("cookie text");
            let pair = text.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            let mut cookies = self.cookies.lock().unwrap();
            if text.contains("Max-Age=0") {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    /// The `Cookie` header this browser sends.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Opens the host's start page at `authorization_url` and returns the page and the vendor
    /// URL its link continues to.
    pub async fn open_start_page(&self, authorization_url: &str) -> (String, String) {
        let response = self.get(authorization_url).await;
        assert_eq!(response.status(), 200, "start page");
        let page = response.text().await.expect("page");
        let link = vendor_link(&page).expect("the start page links to the vendor");
        (page, link)
    }

    /// Plays the whole consent: start page, then the vendor, which redirects back; returns the
    /// callback URL.
    pub async fn consent(&self, authorization_url: &str) -> String {
        let (_, vendor) = self.open_start_page(authorization_url).await;
        let response = self.get(&vendor).await;
        assert_eq!(response.status(), 302, "the vendor redirects back");
        response.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned()
    }
}

/// The `href` of the start page's link, unescaped.
pub fn vendor_link(page: &str) -> Option<String> {
    let start = page.find("href=\"")? + "href=\"".len();
    let end = page[start..].find('"')? + start;
    Some(
        page[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}
