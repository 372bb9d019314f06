# Comment une session s’est terminée, pour la personne de chaque côté. `$detail` et `$what` sont
# les mots de l’autre côté ou d’une bibliothèque, cités tels quels (souvent en anglais).

end-user-stopped = Vous avez arrêté le partage.
end-user-stopped-before-join = Vous avez arrêté le partage avant que quelqu’un se joigne à vous.
end-user-declined = Vous avez refusé de partager votre écran.
end-technician-ended = { $side ->
    [viewer] Vous avez mis fin à la session.
   *[host] Le technicien a mis fin à la session.
}
end-reason = { $reason ->
    [host-ended] La personne qui partageait son écran a mis fin à la session.
    [viewer-ended] Le technicien a mis fin à la session.
    [consent-denied] La personne qui partage son écran a refusé la demande.
    [protocol-error] La session s’est terminée sur une erreur de protocole.
   *[shutdown] La session s’est terminée parce que le programme a été fermé.
}
end-peer-ended-saying = { $peer ->
    [host] L’hôte a mis fin à la session
   *[viewer] Le technicien a mis fin à la session
} : { $detail }
end-peer-left = La connexion avec l’autre côté a pris fin ({ $detail }).
end-reconnect-failed = La connexion a été perdue et ne peut pas être rétablie : { $detail }
end-reconnect-expired = La connexion a été perdue et n’a pas pu être rétablie en { $seconds } s.
end-viewer-silent = Le visualiseur ne s’est pas présenté.
end-capture-failed = La capture d’écran a échoué : { $detail }
end-undecodable-update = L’hôte a envoyé une mise à jour de l’écran impossible à décoder : { $detail }
end-broke-protocol = { $peer ->
    [host] L’hôte
   *[viewer] Le visualiseur
} n’a pas respecté le protocole : { $what }
end-session-ended = La session est terminée.

## Une session qui n’a pas pu commencer ou continuer
end-wrong-code = quelqu’un a essayé de se joindre avec un mauvais code { $tries } fois (un code ne permet qu’un essai) ; le partage s’est donc arrêté au cas où quelqu’un essaierait de deviner : recommencez le partage quand votre technicien sera prêt, et lisez le code attentivement
end-code-expired = votre code a expiré avant que quelqu’un l’utilise : recommencez le partage pour obtenir un nouveau code
end-unknown-code = aucune session n’attend sous ce code : il était erroné, déjà utilisé ou expiré — demandez-en un nouveau
end-code-expired-unused = le code a expiré sans avoir servi
end-fingerprint-mismatch = l’empreinte du certificat du relais est { $actual }, mais vous avez indiqué { $expected } : ce n’est pas le relais attendu (ou quelqu’un s’est interposé) ; vérifiez l’empreinte auprès de l’exploitant du relais
end-rate-limited = le relais refuse pour l’instant : { $detail }
end-relay-refused = le relais a refusé ({ $reason ->
    [unknown-code] code inconnu
    [rate-limited] trop de demandes
    [unsupported-version] version du protocole non prise en charge
    [full] relais plein
    [bad-request] demande invalide
   *[unavailable] grappe de relais indisponible
}) : { $detail }
end-relay-connection-lost = connexion au relais perdue : { $detail }
end-failed = La session s’est arrêtée sur une erreur : { $detail }
