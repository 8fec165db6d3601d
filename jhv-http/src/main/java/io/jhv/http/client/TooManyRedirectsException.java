package io.jhv.http.client;

/**
 * A call followed more redirects than {@link HttpClient.Builder#maxRedirects} allows. Immutable;
 * any thread.
 */
public class TooManyRedirectsException extends HttpClientException {
    private static final long serialVersionUID = 1L;

    /** Too many redirects, described by {@code message}. */
    public TooManyRedirectsException(String message) {
        super(message);
    }
}
