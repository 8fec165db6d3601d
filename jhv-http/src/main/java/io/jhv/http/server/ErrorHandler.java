package io.jhv.http.server;

import io.jhv.http.HttpException;

/**
 * Turns an exception from a handler or middleware into a response. The default answers an
 * {@link HttpException} with its status and message, and anything else with 500 (logged).
 */
@FunctionalInterface
public interface ErrorHandler {
    void handle(Request req, Response res, Throwable error) throws Exception;
}
