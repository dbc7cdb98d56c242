//! The stand-in's API origin: routing each request through the contract check, the token's
//! scopes and the injected faults, then answering check runs, PR comments and artifacts as GitHub
//! does.
//!
//! Never answers a request the contract table does not describe.

use super::*;

pub(super) async fn serve_api(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let query = query_pairs(parts.uri.query());
    let headers = header_pairs(&parts.headers);
    let authorization = parts
        .headers
        .get("authorization")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    // Far above anything the project sends (two 65,535-byte check-run texts); a body past it,
    // or one that breaks off, is answered without looking further.
    let body: Bytes = match axum::body::to_bytes(body, 8 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return error(413, "Payload Too Large", REST_DOCS).into_response(),
    };
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(None)
    } else {
        serde_json::from_slice::<Value>(&body).map(Some)
    };
    let contract = match &parsed {
        Ok(json) => check_contract(&method, &path, &query, json.as_ref()),
        Err(e) => Err(format!("the request body is not JSON: {e}")),
    };

    let mut state = inner.lock();
    let fault = take_fault(&mut state, &method, &path);
    let token = authorization.as_deref().and_then(bearer);
    let permissions = token.and_then(|t| {
        state
            .tokens
            .iter()
            .find(|(known, _)| known == t)
            .map(|(_, p)| *p)
    });
    let mut reply = match (fault, &contract, parsed) {
        (Some(status), _, _) => api_fault(status, &state, token),
        // GitHub's answer to a body it cannot parse.
        (None, _, Err(_)) => error(400, "Problems parsing JSON", REST_DOCS),
        (None, Err(violation), Ok(_)) => error(
            400,
            &format!(
                "github stand-in: request breaks GitHub's REST contract ({}): {violation}",
                table().source
            ),
            REST_DOCS,
        ),
        (None, Ok(matched), Ok(json)) => authorized(
            &inner,
            &mut state,
            matched,
            authorization.is_some(),
            permissions,
            json,
        ),
    };
    if !reply.headers.iter().any(|(n, _)| *n == "x-ratelimit-limit") {
        let authenticated = permissions.is_some();
        let (limit, used) = if authenticated {
            state.used_by_token = state.used_by_token.saturating_add(1);
            (TOKEN_RATE_LIMIT, state.used_by_token)
        } else {
            state.used_anonymously = state.used_anonymously.saturating_add(1);
            (ANONYMOUS_RATE_LIMIT, state.used_anonymously)
        };
        reply = rate_headers(reply, limit, used.min(limit), inner.rate_reset);
    }
    state.next_request += 1;
    let request_id = format!(
        "{:04X}:{:06X}:{:07X}:{:07X}:{:08X}",
        state.next_request % 0xFFFF,
        inner.id_seed & 0xFF_FFFF,
        state.next_request,
        state.next_request * 7,
        (inner.id_seed >> 32) as u32
    );
    let reply = reply
        .header("x-github-request-id", request_id)
        .header("x-github-media-type", "github.v3; format=json")
        .header("x-github-api-version-selected", "2022-11-28");
    let reset = fault == Some(FAULT_RESET);
    state.log.push(GithubRequest {
        method,
        path,
        query,
        headers,
        had_authorization: authorization.is_some(),
        origin: ORIGIN_API,
        status: if reset { 0 } else { reply.status },
        contract: contract.map(|m| m.describe()),
        body: body_text,
    });
    drop(state);
    if reset {
        // Unwinding out of the handler makes hyper drop the connection with no answer, and
        // `resume_unwind` skips the panic hook, so nothing is printed (as in `devserver::serve`).
        std::panic::resume_unwind(Box::new(InjectedReset));
    }
    reply.into_response()
}

/// The marker unwound through a handler to drop its connection.
pub(super) struct InjectedReset;

pub(super) fn rate_headers(reply: Reply, limit: u32, used: u32, reset: i64) -> Reply {
    reply
        .header("x-ratelimit-limit", limit.to_string())
        .header("x-ratelimit-remaining", (limit - used).to_string())
        .header("x-ratelimit-reset", reset.to_string())
        .header("x-ratelimit-used", used.to_string())
        .header("x-ratelimit-resource", "core")
}

/// `Bearer <token>` or `token <token>` (both accepted by GitHub, scheme case-insensitive).
pub(super) fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then_some(token)
        .filter(|t| !t.is_empty())
}

/// The fault to apply to this request, if any (and counts it).
pub(super) fn take_fault(state: &mut Store, method: &str, path: &str) -> Option<u16> {
    state.faults.retain(|f| f.left > 0);
    let fault = state.faults.iter_mut().find(|f| {
        (f.method == "*" || f.method.eq_ignore_ascii_case(method))
            && path.starts_with(&f.path_prefix)
    })?;
    fault.left -= 1;
    Some(fault.status)
}

/// GitHub's answer for an injected status.
pub(super) fn api_fault(status: u16, state: &Store, token: Option<&str>) -> Reply {
    match status {
        FAULT_RESET => Reply::json(500, Value::Null),
        FAULT_ECHO_TOKEN => error(
            403,
            &format!(
                "Resource not accessible with token {}",
                token.unwrap_or_default()
            ),
            REST_DOCS,
        ),
        401 => error(401, "Bad credentials", REST_DOCS),
        // The primary limit exhausted: GitHub answers 403 (or 429) with `remaining: 0`
        // (message as in bobheadxi/deployments#67; KnpLabs/php-github-api#1070).
        403 => rate_headers(
            error(
                403,
                &format!("API rate limit exceeded for installation ID {INSTALLATION_ID}."),
                RATE_LIMIT_DOCS,
            ),
            TOKEN_RATE_LIMIT,
            TOKEN_RATE_LIMIT,
            now().unix_timestamp() + 1,
        ),
        404 => not_found(REST_DOCS),
        // A secondary rate limit (KnpLabs/php-github-api#1070 quotes the message). GitHub sends
        // `retry-after` in seconds, often 60; 1 keeps tests of a client that honours it fast.
        429 => error(
            429,
            &format!(
                "You have exceeded a secondary rate limit. Please wait a few minutes before you \
                 try again. If you reach out to GitHub Support for help, please include the \
                 request ID {:X}.",
                state.next_request + 1
            ),
            &format!("{RATE_LIMIT_DOCS}#about-secondary-rate-limits"),
        )
        .header("retry-after", "1"),
        500 => Reply::json(500, json!({"message": "Server Error"})),
        // GitHub's front ends answer gateway errors with an HTML page, not JSON.
        502..=504 => Reply {
            status,
            payload: Payload::Raw {
                content_type: "text/html; charset=utf-8".into(),
                bytes: format!(
                    "<!DOCTYPE html>\n<html><head><title>Unicorn! &middot; GitHub</title></head>\
                     <body><p>We had issues producing the response to your request. ({status})\
                     </p></body></html>\n"
                )
                .into_bytes(),
            },
            headers: Vec::new(),
        },
        other => {
            let reason = StatusCode::from_u16(other)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Injected fault");
            error(other, reason, REST_DOCS)
        }
    }
}

/// Authentication, the repository, the permission, then the operation.
pub(super) fn authorized(
    inner: &Inner,
    state: &mut Store,
    matched: &Matched,
    had_authorization: bool,
    permissions: Option<Permissions>,
    body: Option<Value>,
) -> Reply {
    let docs = matched.op.docs.as_str();
    let Some(permissions) = permissions else {
        if had_authorization {
            return error(401, "Bad credentials", REST_DOCS);
        }
        // Without a token a private repository does not exist to a reader; a write asks for
        // authentication.
        return if matched.method == "get" {
            not_found(docs)
        } else {
            error(401, "Requires authentication", docs)
        };
    };
    // "The name is not case sensitive" (the spec's `owner` and `repo` parameters).
    if !matched.param("owner").eq_ignore_ascii_case(&inner.owner)
        || !matched.param("repo").eq_ignore_ascii_case(&inner.repo)
    {
        return not_found(docs);
    }
    // `accepted` is the header GitHub sends to fine-grained actors (GitHub changelog 2023-08-10,
    // "X-Accepted-GitHub-Permissions header for fine-grained permission actors").
    let (granted, accepted) = match matched.op.operation_id.as_str() {
        "checks/create" | "checks/update" => (permissions.checks_write, "checks=write"),
        "issues/list-comments" => (
            permissions.pull_requests_write,
            "issues=read; pull_requests=read",
        ),
        "issues/create-comment" | "issues/update-comment" => (
            permissions.pull_requests_write,
            "issues=write; pull_requests=write",
        ),
        "actions/list-workflow-run-artifacts" | "actions/download-artifact" => {
            (permissions.actions_read, "actions=read")
        }
        // Every operation of the table is listed above; `table_has_a_handler_for_every_op`.
        _ => (false, ""),
    };
    if !granted {
        // The text a GITHUB_TOKEN without the scope gets (LouisBrunner/checks-action#35,
        // joshmfrankel/simplecov-check-action#11; docs/dependencies.md §2).
        return error(403, "Resource not accessible by integration", docs)
            .header("x-accepted-github-permissions", accepted);
    }
    let body = body.unwrap_or(Value::Null);
    let reply = match matched.op.operation_id.as_str() {
        "checks/create" => create_check_run(inner, state, matched, &body),
        "checks/update" => update_check_run(state, matched, &body),
        "issues/list-comments" => list_comments(inner, state, matched),
        "issues/create-comment" => create_comment(inner, state, matched, &body),
        "issues/update-comment" => update_comment(inner, state, matched, &body),
        "actions/list-workflow-run-artifacts" => list_artifacts(inner, state, matched),
        "actions/download-artifact" => download_artifact(inner, state, matched),
        other => error(
            500,
            &format!("github stand-in: no handler for `{other}` (a bug in the stand-in)"),
            REST_DOCS,
        ),
    };
    reply.header("x-accepted-github-permissions", accepted)
}

/// A commit SHA as GitHub's object ids are written (SHA-1, or SHA-256 repositories).
pub(super) fn is_commit_sha(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64)
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The value checks the create and update of a check run share; `None` when all pass.
pub(super) fn check_run_values(
    shape: &Shape,
    body: &Value,
    docs: &str,
    creating: bool,
) -> Option<Reply> {
    let object = body.as_object()?;
    if creating {
        if let Some(detail) = missing_fields(object, &shape.required) {
            return Some(invalid_request(docs, &detail));
        }
    }
    let strings = [
        "name",
        "head_sha",
        "details_url",
        "external_id",
        "status",
        "conclusion",
        "started_at",
        "completed_at",
    ];
    if let Some(detail) = check_strings(object, &strings, shape, "") {
        return Some(invalid_request(docs, &detail));
    }
    if let Some(sha) = object.get("head_sha").and_then(Value::as_str) {
        if !is_commit_sha(sha) {
            // GitHub resolves the SHA in the repository and refuses one it cannot find.
            return Some(error(422, &format!("No commit found for SHA: {sha}"), docs));
        }
    }
    for field in ["started_at", "completed_at"] {
        if let Some(at) = object.get(field).and_then(Value::as_str) {
            if OffsetDateTime::parse(at, &Rfc3339).is_err() {
                return Some(invalid_request(
                    docs,
                    &format!("For 'properties/{field}', \"{at}\" is not a date-time."),
                ));
            }
        }
    }
    let completing = object.get("status").and_then(Value::as_str) == Some("completed")
        || object.get("completed_at").is_some_and(|v| !v.is_null());
    if completing && object.get("conclusion").is_none_or(Value::is_null) {
        // "Required if you provide `completed_at` or a `status` of `completed`" (the spec; the
        // update's schema says it as `anyOf`).
        return Some(invalid_request(docs, "\"conclusion\" wasn't supplied."));
    }
    if let Some(output) = object.get("output").filter(|v| !v.is_null()) {
        let (Some(output), Some(out_shape)) = (output.as_object(), shape.objects.get("output"))
        else {
            return Some(invalid_request(
                docs,
                &format!("For 'properties/output', {output} is not an object."),
            ));
        };
        if let Some(detail) = missing_fields(output, &out_shape.required) {
            return Some(invalid_request(docs, &detail));
        }
        let at = "properties/output/";
        if let Some(detail) = check_strings(output, &["title", "summary", "text"], out_shape, at) {
            return Some(invalid_request(docs, &detail));
        }
        for (field, limit) in &out_shape.max_length {
            let size = output
                .get(field)
                .and_then(Value::as_str)
                .map_or(0, str::len);
            if size > *limit {
                // GitHub counts bytes, not characters (github/docs#35252, 2024, quoting this
                // body; older answers read "Only 65535 characters are allowed; N were
                // supplied.", reviewdog/action-rubocop#67).
                return Some(validation_failed(
                    docs,
                    json!([{"resource": "CheckRun", "code": "custom", "field": field,
                            "message": format!("{field} exceeds a maximum bytesize of {limit}")}]),
                ));
            }
        }
        for (field, limit) in &out_shape.max_items {
            let count = output
                .get(field)
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if count > *limit {
                // The spec's `maxItems`; the wording is the JSON-schema validator's form.
                return Some(invalid_request(
                    docs,
                    &format!(
                        "For '{at}properties/{field}', the array has more than {limit} items."
                    ),
                ));
            }
        }
        for (field, item_shape) in &out_shape.items {
            for item in output
                .get(field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(item) = item.as_object() {
                    if let Some(detail) = missing_fields(item, &item_shape.required) {
                        return Some(invalid_request(docs, &detail));
                    }
                }
            }
        }
    }
    None
}

pub(super) fn create_check_run(
    inner: &Inner,
    state: &mut Store,
    matched: &Matched,
    body: &Value,
) -> Reply {
    let docs = matched.op.docs.as_str();
    let empty = Shape::default();
    let shape = matched.op.body.as_ref().unwrap_or(&empty);
    if let Some(refusal) = check_run_values(shape, body, docs, true) {
        return refusal;
    }
    let id = state.next_check_run;
    state.next_check_run += 1;
    let suite = state.next_suite;
    state.next_suite += 1;
    let url = format!("{}/check-runs/{id}", inner.repo_api());
    let html = format!("{}/runs/{id}", inner.repo_html());
    let text = |field: &str| body.get(field).and_then(Value::as_str).map(str::to_string);
    let mut run = json!({
        "id": id,
        "name": text("name"),
        "node_id": node_id("08:CheckRun", id),
        "head_sha": text("head_sha"),
        "external_id": text("external_id").unwrap_or_default(),
        "url": url,
        "html_url": html,
        "details_url": text("details_url").unwrap_or_else(|| html.clone()),
        "status": "queued",
        "conclusion": Value::Null,
        "started_at": text("started_at").unwrap_or_else(|| rfc3339(now())),
        "completed_at": Value::Null,
        "output": {
            "title": Value::Null,
            "summary": Value::Null,
            "text": Value::Null,
            "annotations_count": 0,
            "annotations_url": format!("{url}/annotations"),
        },
        "check_suite": {"id": suite},
        "app": inner.actions_app_json(),
        // GitHub lists the PRs whose head is `head_sha`; the stand-in stages none.
        "pull_requests": [],
    });
    apply_check_run_update(&mut run, body);
    state.check_runs.push(run.clone());
    Reply::json(201, run).header("location", url)
}

pub(super) fn update_check_run(state: &mut Store, matched: &Matched, body: &Value) -> Reply {
    let docs = matched.op.docs.as_str();
    let empty = Shape::default();
    let shape = matched.op.body.as_ref().unwrap_or(&empty);
    let id = matched.id("check_run_id");
    let Some(index) = state.check_runs.iter().position(|r| r["id"] == id) else {
        return not_found(docs);
    };
    if let Some(refusal) = check_run_values(shape, body, docs, false) {
        return refusal;
    }
    let run = &mut state.check_runs[index];
    apply_check_run_update(run, body);
    Reply::json(200, run.clone())
}

/// Applies a create or update body to a stored check run, as GitHub does: providing a
/// `conclusion` sets `status` to `completed` (the spec's note on `conclusion`), completing
/// stamps `completed_at`, output fields replace the old ones and annotations add up.
pub(super) fn apply_check_run_update(run: &mut Value, body: &Value) {
    for field in [
        "name",
        "details_url",
        "external_id",
        "started_at",
        "status",
        "conclusion",
        "completed_at",
    ] {
        if let Some(v) = body.get(field).filter(|v| !v.is_null()) {
            run[field] = v.clone();
        }
    }
    if !run["conclusion"].is_null() {
        run["status"] = json!("completed");
        if run["completed_at"].is_null() {
            run["completed_at"] = json!(rfc3339(now()));
        }
    }
    if let Some(output) = body.get("output").and_then(Value::as_object) {
        for field in ["title", "summary", "text"] {
            if let Some(v) = output.get(field).filter(|v| !v.is_null()) {
                run["output"][field] = v.clone();
            }
        }
        let added = output
            .get("annotations")
            .and_then(Value::as_array)
            .map_or(0, Vec::len) as u64;
        let before = run["output"]["annotations_count"].as_u64().unwrap_or(0);
        run["output"]["annotations_count"] = json!(before + added);
    }
}

/// `per_page` and `page` as GitHub reads them: absent, zero or garbage means the default;
/// `per_page` above 100 means 100.
pub(super) fn paging(query: &[(String, String)]) -> (usize, usize) {
    let read = |name: &str| {
        query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
    };
    let per_page = read("per_page")
        .unwrap_or(DEFAULT_PER_PAGE)
        .min(MAX_PER_PAGE);
    (per_page, read("page").unwrap_or(1))
}

/// The page's items and the `Link` header GitHub sends with it (`prev`, `next`, `last`,
/// `first`, in GitHub's order; absent when everything fits one page).
pub(super) fn paginate<T>(
    items: Vec<T>,
    query: &[(String, String)],
    base: &str,
) -> (Vec<T>, Option<String>) {
    let (per_page, page) = paging(query);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let start = (page - 1).saturating_mul(per_page);
    let items: Vec<T> = items.into_iter().skip(start).take(per_page).collect();
    if last == 1 {
        return (items, None);
    }
    let url = |n: usize| {
        let mut pairs: Vec<String> = query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        pairs.push(format!("page={n}"));
        format!("<{base}?{}>", pairs.join("&"))
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", url((page - 1).min(last))));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", url(1)));
    }
    (items, Some(links.join(", ")))
}

pub(super) fn list_comments(inner: &Inner, state: &mut Store, matched: &Matched) -> Reply {
    let issue = matched.id("issue_number");
    let query = &matched.query;
    let since = query
        .iter()
        .find(|(k, _)| k == "since")
        .and_then(|(_, v)| OffsetDateTime::parse(v, &Rfc3339).ok());
    let listed: Vec<Value> = state
        .comments
        .iter()
        .filter(|c| c.issue_number == issue)
        .filter(|c| since.is_none_or(|s| c.updated_at >= s))
        .map(|c| inner.comment_json(c))
        .collect();
    let base = format!("{}/issues/{issue}/comments", inner.repo_api());
    let (page, link) = paginate(listed, query, &base);
    let reply = Reply::json(200, Value::Array(page));
    match link {
        Some(l) => reply.header("link", l),
        None => reply,
    }
}

/// The body of a comment request, or GitHub's refusal.
pub(super) fn comment_body<'b>(body: &'b Value, docs: &str) -> Result<&'b str, Reply> {
    let object = body.as_object();
    match object.and_then(|o| o.get("body")) {
        None | Some(Value::Null) => Err(invalid_request(docs, "\"body\" wasn't supplied.")),
        Some(Value::String(text)) => Ok(text),
        Some(other) => Err(invalid_request(
            docs,
            &format!("For 'properties/body', {other} is not a string."),
        )),
    }
}

pub(super) fn create_comment(
    inner: &Inner,
    state: &mut Store,
    matched: &Matched,
    body: &Value,
) -> Reply {
    let docs = matched.op.docs.as_str();
    let text = match comment_body(body, docs) {
        Ok(t) => t,
        Err(refusal) => return refusal,
    };
    if text.chars().count() > COMMENT_MAX_CHARS {
        // The create answer (jmikedupont2/ai-ticket#51, 2023, and reg-viz/reg-actions#123,
        // 2024, quote exactly this entry).
        return validation_failed(
            docs,
            json!([{"resource": "IssueComment", "code": "unprocessable", "field": "data",
                    "message": "Body is too long (maximum is 65536 characters)"}]),
        );
    }
    let id = state.next_comment;
    state.next_comment += 1;
    let at = now();
    let comment = StoredComment {
        id,
        issue_number: matched.id("issue_number"),
        author: ACTIONS_BOT_LOGIN.to_string(),
        body: text.to_string(),
        created_at: at,
        updated_at: at,
    };
    let rendered = inner.comment_json(&comment);
    state.comments.push(comment);
    let location = format!("{}/issues/comments/{id}", inner.repo_api());
    Reply::json(201, rendered).header("location", location)
}

pub(super) fn update_comment(
    inner: &Inner,
    state: &mut Store,
    matched: &Matched,
    body: &Value,
) -> Reply {
    let docs = matched.op.docs.as_str();
    let id = matched.id("comment_id");
    let Some(index) = state.comments.iter().position(|c| c.id == id) else {
        return not_found(docs);
    };
    if state.comments[index].author != ACTIONS_BOT_LOGIN {
        // An app may edit only its own comments; someone else's is out of reach.
        return error(403, "Resource not accessible by integration", docs);
    }
    let text = match comment_body(body, docs) {
        Ok(t) => t,
        Err(refusal) => return refusal,
    };
    if text.chars().count() > COMMENT_MAX_CHARS {
        // The edit answer differs from the create's (joonvena/robotframework-reporter-action#30
        // quotes a PATCH: `Field:body Code:custom Message:body is too long ...`).
        return validation_failed(
            docs,
            json!([{"resource": "IssueComment", "code": "custom", "field": "body",
                    "message": "body is too long (maximum is 65536 characters)"}]),
        );
    }
    let comment = &mut state.comments[index];
    comment.body = text.to_string();
    comment.updated_at = now();
    Reply::json(200, inner.comment_json(comment))
}

pub(super) fn list_artifacts(inner: &Inner, state: &mut Store, matched: &Matched) -> Reply {
    let docs = matched.op.docs.as_str();
    if matched.id("run_id") != inner.run_id {
        return not_found(docs);
    }
    let query = &matched.query;
    let name = query.iter().find(|(k, _)| k == "name").map(|(_, v)| v);
    let ascending = query.iter().any(|(k, v)| k == "direction" && v == "asc");
    let mut listed: Vec<&StoredArtifact> = state
        .artifacts
        .iter()
        .filter(|a| name.is_none_or(|n| &a.name == n))
        .collect();
    // Newest first unless `direction=asc` (the spec's `direction` defaults to `desc`).
    listed.sort_by_key(|a| a.id);
    if !ascending {
        listed.reverse();
    }
    let total = listed.len();
    let rendered: Vec<Value> = listed.iter().map(|a| inner.artifact_json(a)).collect();
    let base = format!(
        "{}/actions/runs/{}/artifacts",
        inner.repo_api(),
        inner.run_id
    );
    let (page, link) = paginate(rendered, query, &base);
    let reply = Reply::json(200, json!({"total_count": total, "artifacts": page}));
    match link {
        Some(l) => reply.header("link", l),
        None => reply,
    }
}

pub(super) fn download_artifact(inner: &Inner, state: &mut Store, matched: &Matched) -> Reply {
    let docs = matched.op.docs.as_str();
    let id = matched.id("artifact_id");
    // "The `:archive_format` must be `zip`" (the spec); GitHub has no route for others.
    if matched.param("archive_format") != "zip" {
        return not_found(docs);
    }
    let Some(artifact) = state.artifacts.iter().find(|a| a.id == id) else {
        return not_found(docs);
    };
    if artifact.expired {
        // dawidd6/action-download-artifact#283 (2024) quotes the message and this URL.
        return error(410, "Artifact has expired", docs);
    }
    let start = now();
    let expires = start + Duration::seconds(BLOB_LINK_SECONDS);
    let mut mac = Sha256::new();
    mac.update(inner.link_key.to_be_bytes());
    mac.update(id.to_be_bytes());
    mac.update(state.next_request.to_be_bytes());
    mac.update(state.links.len().to_be_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize());
    let object = hex(&Sha256::digest(format!("{}:{id}", inner.link_key)))[..32].to_string();
    // Shaped like the Azure blob URLs of Actions artifacts: a results container, a SAS query
    // (`se` its expiry, `sig` the signature, `rscd` the Content-Disposition to answer with).
    let path = format!(
        "/actions-results/{}/workflow-job-run-{}/artifacts/{object}{}",
        &inner.head_sha[..32],
        inner.run_id,
        if artifact.is_zip() { ".zip" } else { "" }
    );
    let disposition = format!("attachment; filename=\"{}\"", artifact.file_name());
    let location = format!(
        "{}{path}?rscd={}&se={}&sig={}&sp=r&spr=https&sr=b&st={}&sv={BLOB_SERVICE_VERSION}",
        inner.blob_url,
        percent_encode(&disposition),
        percent_encode(&rfc3339(expires)),
        percent_encode(&signature),
        percent_encode(&rfc3339(start)),
    );
    state.links.insert(
        signature,
        BlobLink {
            artifact_id: id,
            path,
            start,
            expires_at: expires,
        },
    );
    Reply {
        status: 302,
        payload: Payload::Empty,
        headers: vec![("location", location)],
    }
}
