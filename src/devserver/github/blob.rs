//! The stand-in's blob origin: the short-lived signed links artifact downloads are redirected to.
//!
//! Refuses any request that carries an `Authorization` header: clients must not hand the GitHub
//! token to storage.

use super::*;

pub(super) async fn serve_blob(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let query = query_pairs(parts.uri.query());
    let headers = header_pairs(&parts.headers);
    let had_authorization = parts.headers.contains_key("authorization");

    let mut state = inner.lock();
    state.next_request += 1;
    let request_id = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (inner.id_seed >> 32) as u32,
        (inner.id_seed >> 16) as u16,
        inner.id_seed as u16,
        (state.next_request >> 48) as u16,
        state.next_request & 0xFFFF_FFFF_FFFF
    );
    let fault = take_fault(&mut state, &method, &path);
    let reply = match fault {
        Some(FAULT_RESET) => Reply::json(500, Value::Null),
        Some(status) => blob_fault(status, &request_id),
        None => blob_answer(
            &state,
            &method,
            &path,
            &query,
            had_authorization,
            &request_id,
        ),
    };
    let reply = reply
        .header("x-ms-request-id", request_id)
        .header("x-ms-version", BLOB_SERVICE_VERSION)
        .header("server", "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0");
    let reset = fault == Some(FAULT_RESET);
    state.log.push(GithubRequest {
        method,
        path,
        query,
        headers,
        had_authorization,
        origin: ORIGIN_BLOB,
        status: if reset { 0 } else { reply.status },
        contract: Ok("blob storage download (outside GitHub's REST API)".into()),
        body: String::new(),
    });
    drop(state);
    if reset {
        std::panic::resume_unwind(Box::new(InjectedReset));
    }
    reply.into_response()
}

/// Azure Storage's error document.
pub(super) fn azure_error(
    status: u16,
    code: &str,
    message: &str,
    detail: Option<&str>,
    id: &str,
) -> Reply {
    let time = rfc3339(now()).replace('Z', ".0000000Z");
    let detail = detail
        .map(|d| format!("<AuthenticationErrorDetail>{d}</AuthenticationErrorDetail>"))
        .unwrap_or_default();
    let xml = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code>\
         <Message>{message}\nRequestId:{id}\nTime:{time}</Message>{detail}</Error>"
    );
    Reply {
        status,
        payload: Payload::Raw {
            content_type: "application/xml".into(),
            bytes: xml.into_bytes(),
        },
        headers: vec![("x-ms-error-code", code.to_string())],
    }
}

/// Azure's refusal of a request it cannot authenticate (the message of every
/// `AuthenticationFailed`, e.g. microsoft/AzureStorageExplorer#62).
pub(super) const AZURE_AUTH_FAILED: &str =
    "Server failed to authenticate the request. Make sure the value \
                                 of Authorization header is formed correctly including the \
                                 signature.";

pub(super) fn blob_fault(status: u16, id: &str) -> Reply {
    match status {
        500 => azure_error(
            500,
            "InternalError",
            "Server encountered an internal error. Please try again after some time.",
            None,
            id,
        ),
        503 => azure_error(
            503,
            "ServerBusy",
            "The server is currently unable to receive requests. Please retry your request.",
            None,
            id,
        ),
        404 => azure_error(
            404,
            "BlobNotFound",
            "The specified blob does not exist.",
            None,
            id,
        ),
        403 => azure_error(403, "AuthenticationFailed", AZURE_AUTH_FAILED, None, id),
        other => azure_error(other, "InjectedFault", "Injected by the test.", None, id),
    }
}

pub(super) fn blob_answer(
    state: &Store,
    method: &str,
    path: &str,
    query: &[(String, String)],
    had_authorization: bool,
    id: &str,
) -> Reply {
    if had_authorization {
        // The reason clients must drop the GitHub token when following the redirect
        // (docs/actions-behaviour.md §5.3). The stand-in's detail names the cause; Azure's
        // exact detail for a bearer token beside a SAS was not observed.
        return azure_error(
            403,
            "AuthenticationFailed",
            AZURE_AUTH_FAILED,
            Some("The request carries an Authorization header as well as a SAS signature."),
            id,
        );
    }
    if method != "GET" {
        return azure_error(
            403,
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
            None,
            id,
        );
    }
    let sig = query
        .iter()
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| v.as_str());
    let Some(link) = sig
        .and_then(|s| state.links.get(s))
        .filter(|l| l.path == path)
    else {
        return azure_error(
            403,
            "AuthenticationFailed",
            AZURE_AUTH_FAILED,
            Some("Signature did not match. String to sign used was r"),
            id,
        );
    };
    let now = now();
    if now > link.expires_at {
        return azure_error(
            403,
            "AuthenticationFailed",
            AZURE_AUTH_FAILED,
            Some(&format!(
                "Signed expiry time [{}] must be after signed start time [{}] and current time \
                 [{}]",
                http_date(link.expires_at),
                http_date(link.start),
                http_date(now)
            )),
            id,
        );
    }
    let Some(artifact) = state.artifacts.iter().find(|a| a.id == link.artifact_id) else {
        return azure_error(
            404,
            "BlobNotFound",
            "The specified blob does not exist.",
            None,
            id,
        );
    };
    let disposition = query
        .iter()
        .find(|(k, _)| k == "rscd")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| format!("attachment; filename=\"{}\"", artifact.file_name()));
    Reply {
        status: 200,
        payload: Payload::Raw {
            content_type: artifact.content_type.clone(),
            bytes: artifact.bytes.clone(),
        },
        headers: vec![
            ("content-disposition", disposition),
            ("x-ms-blob-type", "BlockBlob".into()),
            ("accept-ranges", "bytes".into()),
            ("etag", format!("\"0x8DC{:012X}\"", artifact.id)),
            ("last-modified", http_date(artifact.created_at)),
            ("x-ms-server-encrypted", "true".into()),
        ],
    }
}

/// `Tue, 01 Jul 2025 10:00:00 GMT`.
pub(super) fn http_date(t: OffsetDateTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
