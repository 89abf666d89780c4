//! The Salesforce connector through the host's REST API, against a behavioural Salesforce org
//! reached through Salesforce's OAuth (the token response's `instance_url` is the org), with
//! every request's method and path checked against Salesforce's Postman collection.

use std::time::Duration;

use connector_tests::fakes::oauth_server::{Flavor, SALESFORCE_USER_ID};
use connector_tests::fakes::salesforce::{
    ACCOUNTS, ACME, CASE_COMMENTS, FEED_POSTS, account_id, case_id,
};
use connector_tests::fakes::{OAuthServer, SalesforceFake};
use connector_tests::harness::{
    TestServer, connect_with_oauth, connection_path, error_code, host_for_oauth,
};
use connector_tests::postman::{PostmanShapes, assert_matches_collection};
use reqwest::Method;
use serde_json::{Value, json};

struct Org {
    auth: OAuthServer,
    fake: SalesforceFake,
    server: TestServer,
    key: String,
    base: String,
}

impl Org {
    async fn connect() -> Self {
        let auth = OAuthServer::start_as(Flavor::Salesforce, Duration::from_secs(3600)).await;
        let fake = SalesforceFake::start_checking(auth.token_checker()).await;
        auth.set_instance_url(&fake.origin());
        let (server, key, browser) = host_for_oauth(&auth, "salesforce", |_| {}).await;
        let (status, connection) =
            connect_with_oauth(&server, &key, &browser, "salesforce", json!({"config": {}})).await;
        assert_eq!(status, 201, "{connection}");
        assert_eq!(connection["data"]["principal"]["id"], SALESFORCE_USER_ID);
        assert_eq!(
            connection["data"]["principal"]["display_name"],
            "Ada Lovelace"
        );
        assert_eq!(connection["data"]["values"]["instance_url"], fake.origin());
        let asked = &auth.authorize_queries()[0];
        assert_eq!(asked["scope"], "api refresh_token");
        assert!(asked.contains_key("code_challenge"), "PKCE");
        let base = connection_path(&connection);
        Self {
            auth,
            fake,
            server,
            key,
            base,
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server
            .send(
                method,
                &format!("{}{path}", self.base),
                Some(&self.key),
                body,
            )
            .await
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    async fn ids(&self, path: &str) -> (Vec<String>, usize) {
        self.server
            .all_pages(&self.key, &format!("{}{path}", self.base))
            .await
    }
}

#[tokio::test]
async fn an_org_connected_by_oauth_is_browsed_searched_and_written_by_soql_sosl_and_rest() {
    let org = Org::connect().await;

    let (objects, pages) = org.ids("/containers?limit=5").await;
    assert_eq!(
        objects,
        [
            "Account",
            "Campaign",
            "Case",
            "Contact",
            "Contract",
            "Event",
            "Invoice__c",
            "Lead",
            "Opportunity",
            "Order",
            "Product2",
            "Task"
        ],
        "queryable standard objects and custom ones; history, setup and child objects left out"
    );
    assert_eq!(pages, 3);

    let (accounts, pages) = org.ids("/containers/Account/items?limit=100").await;
    assert_eq!(accounts.len() as u64, ACCOUNTS);
    assert_eq!(
        accounts[0],
        format!("Account:{}", account_id(ACCOUNTS)),
        "newest first"
    );
    assert_eq!(pages, 5, "keyset pages of 100");
    let (recent, _) = org
        .ids("/containers/Account/items?updated_since=2026-11-01T16:20:00Z")
        .await;
    assert_eq!(recent.len(), 11, "accounts 440 to 450");
    assert!(
        org.fake
            .queries()
            .iter()
            .any(|q| q.contains("WHERE LastModifiedDate >= 2026-11-01T16:20:00Z"))
    );

    let acme = format!("Account:{}", account_id(ACME));
    let item = org.get(&format!("/items/{acme}")).await;
    assert_eq!(item["data"]["title"], "Acme Corp");
    assert_eq!(item["data"]["body"], format!("Customer {ACME}"));
    assert_eq!(item["data"]["attributes"]["Industry"], "Manufacturing");
    assert_eq!(
        item["data"]["url"],
        format!(
            "{}/lightning/r/Account/{}/view",
            org.fake.origin(),
            account_id(ACME)
        )
    );

    let first = format!("Account:{}", account_id(1));
    let (posts, pages) = org.ids(&format!("/items/{first}/comments?limit=2")).await;
    assert_eq!(posts.len() as u64, FEED_POSTS);
    assert_eq!(pages, 2, "Chatter's nextPageToken");
    let case = format!("Case:{}", case_id(1));
    let comments = org.get(&format!("/items/{case}/comments")).await;
    assert_eq!(
        comments["data"]["entries"].as_array().map(Vec::len),
        Some(CASE_COMMENTS as usize)
    );
    assert_eq!(comments["data"]["entries"][0]["body"], "Case comment 1");

    let (found, _) = org.ids("/search?q=acme").await;
    assert_eq!(found, std::slice::from_ref(&acme));
    // SOSL operators in the text are escaped: the org searches for the text as given.
    let injected = "acme} RETURNING User(Id, Username";
    let (found, _) = org.ids(&format!("/search?q={}", urlencode(injected))).await;
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(
        org.fake.search_terms().last().map(String::as_str),
        Some(injected)
    );

    let (status, made) = org
        .send(Method::POST, "/containers/Account/items",
            Some(json!({"title": "Globex", "body": "Prospect", "attributes": {"Industry": "Energy"}})))
        .await;
    assert_eq!(status, 201, "{made}");
    let made_id = made["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(made["data"]["attributes"]["Industry"], "Energy");
    let (latest, _) = org
        .ids("/containers/Account/items?updated_since=2026-11-02T00:00:00Z")
        .await;
    assert_eq!(latest, std::slice::from_ref(&made_id));
    let (status, updated) = org
        .send(
            Method::PATCH,
            &format!("/items/{made_id}"),
            Some(json!({"title": "Globex Corp"})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["title"], "Globex Corp");
    let refused = org
        .send(
            Method::POST,
            "/containers/Account/items",
            Some(json!({"title": "x", "attributes": {"Shoe_Size": "9"}})),
        )
        .await;
    assert_eq!(
        error_code(&refused),
        (422, Some("VALIDATION")),
        "{}",
        refused.1
    );

    let (status, posted) = org
        .send(
            Method::POST,
            &format!("/items/{first}/comments"),
            Some(json!({"body": "Renewal call booked"})),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    let feed = org.get(&format!("/items/{first}/comments?limit=1")).await;
    assert_eq!(feed["data"]["entries"][0]["body"], "Renewal call booked");
    let (status, case_comment) = org
        .send(
            Method::POST,
            &format!("/items/{case}/comments"),
            Some(json!({"body": "Replaced the toner"})),
        )
        .await;
    assert_eq!(status, 201, "{case_comment}");
    let comments = org.get(&format!("/items/{case}/comments")).await;
    assert_eq!(comments["data"]["entries"][2]["body"], "Replaced the toner");

    // Injection through ids and container names never reaches the org.
    let queries_before = org.fake.queries().len();
    let requests_before = org.fake.recorder.requests().len();
    for bad in [
        "/items/Account:001A00000000001' OR Id != '",
        "/items/Account%20WHERE%20Name%20!%3D%20'':001A00000000001AAA",
        "/items/001A00000000001AAA",
        "/containers/Account%20WHERE%20Name%20!%3D%20''/items",
        "/containers/Account--/items",
        "/items/Case:500A00000000001AA'/comments",
    ] {
        let answer = org.send(Method::GET, bad, None).await;
        assert_eq!(answer.0, 404, "{bad}: {}", answer.1);
    }
    assert_eq!(org.fake.recorder.requests().len(), requests_before);
    assert_eq!(org.fake.queries().len(), queries_before);

    let requests = org.fake.recorder.requests();
    assert!(requests.iter().all(|r| {
        r.header("authorization")
            .is_some_and(|a| a.starts_with("Bearer 00DA"))
    }));
    let covered = assert_matches_collection(&PostmanShapes::salesforce(), &requests);
    let follow_ups = requests
        .iter()
        .filter(|r| r.path.contains("/query/"))
        .count();
    assert_eq!(
        covered + follow_ups,
        requests.len(),
        "only nextRecordsUrl follow-ups are outside the collection"
    );
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn an_expired_session_is_refreshed_limits_wait_and_a_revoked_grant_needs_reauth() {
    let org = Org::connect().await;

    // Salesforce tokens carry no expiry: the first 401 INVALID_SESSION_ID triggers the refresh.
    org.auth.expire_all_access_tokens();
    let listed = org.get("/containers/Case/items").await;
    assert_eq!(listed["data"]["entries"].as_array().map(Vec::len), Some(3));
    assert_eq!(org.auth.refresh_requests(), 1);

    org.fake.throttle_next(1);
    let response = org
        .server
        .client
        .get(format!(
            "{}{}/containers/Case/items",
            org.server.base, org.base
        ))
        .bearer_auth(&org.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(
        response.headers()["retry-after"],
        "60",
        "REQUEST_LIMIT_EXCEEDED"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");

    org.auth.revoke_all_refresh_tokens();
    org.auth.expire_all_access_tokens();
    let revoked = org.send(Method::GET, "/containers/Case/items", None).await;
    assert_eq!(
        error_code(&revoked),
        (409, Some("REAUTH_REQUIRED")),
        "{}",
        revoked.1
    );
}
